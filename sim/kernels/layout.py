"""Every pack's layout, declared once: one ``IntEnum`` per pack, a member per row.

A kernel indexes a pack by member (``ac[AC.PRICE]``); numba treats the members as integer
constants, so this costs nothing at run time. The lower-case member name is the row's name
(the engine's view of it, the series' column). Adding a row is one line here.
"""

from __future__ import annotations

from enum import IntEnum, auto


class Layout(IntEnum):
    """A pack's rows, numbered from 0 in order of declaration."""

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):  # noqa: D102, ANN001, ANN205
        return count

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The rows' names, lower case, in order."""
        return tuple(member.name.lower() for member in cls)



class REC(Layout):
    """Daily series per day, arm and commodity: ``rec[REC.X, day, arm, commodity]``.

    Tonnes unless the name says otherwise. The kernels write all but the last of the party series.
    """

    CAPACITY_T = auto()
    PRODUCTION_T = auto()
    MARKET_STOCK_T = auto()
    ORDERS_T = auto()
    SHIPPED_T = auto()
    ARRIVALS_T = auto()
    REFERENCE_DEMAND_T = auto()
    DEMAND_T = auto()
    DELIVERED_T = auto()
    SHORTFALL_T = auto()
    CRITICAL_SHORTFALL_T = auto()
    IMPORTS_T = auto()
    ROW_DEMAND_T = auto()
    ROW_CONSUMPTION_T = auto()
    PRICE_USD_PER_T = auto()
    CLEARING_PRICE_USD_PER_T = auto()
    SUBSTITUTION_SHARE = auto()
    RESERVE_STOCK_T = auto()
    RESERVE_TARGET_T = auto()
    RESERVE_PURCHASES_T = auto()
    RESERVE_RELEASES_T = auto()
    RELEASE_DELIVERIES_T = auto()
    MANUFACTURER_STOCK_T = auto()
    IN_TRANSIT_T = auto()
    LOSS_SURPLUS_USD = auto()
    LOSS_IMPORT_USD = auto()
    LOSS_CRITICAL_USD = auto()
    LOSS_USD = auto()
    ENTITLEMENT_T = auto()
    ENTITLEMENT_DRAWN_T = auto()
    ENTITLEMENT_OUTSTANDING_T = auto()
    ALLIED_STAKE_T = auto()


class AC(Layout):
    """The engine's [arm, commodity] state and scratch arrays (pack ``ac``)."""

    PRICE = auto()
    SUBSTITUTION = auto()
    PEAK_SUBSTITUTION = auto()
    SUPPLY_FACTOR = auto()
    TRANSIT_M = auto()
    TRANSIT_REL = auto()
    TRANSIT_R = auto()
    RSTOCK = auto()
    WSTOCK = auto()
    OUTPUT = auto()
    SUPPLY = auto()
    REACH = auto()
    WANT_TOT = auto()
    ROW_WANT = auto()
    ROW_CRIT = auto()
    ORDER = auto()
    WANT_R = auto()
    CRIT_E_SUM = auto()
    RESP_E = auto()
    KEEP = auto()
    ROW_OWN = auto()
    BUY = auto()
    ROW_GOT = auto()
    PRODUCED = auto()
    SHIPPED = auto()
    IMPORTS = auto()
    ARR_M = auto()
    ARR_R = auto()
    SRC = auto()
    M_SHARE = auto()
    CLEARING = auto()
    RELEASES = auto()
    OTHER_REL = auto()
    DELIVERED_REL = auto()
    EXPECTED_SUPPLY = auto()
    SUPPLY_LOST = auto()
    DRAWDOWN = auto()
    CURVE = auto()
    CARRY = auto()
    ROW_STOCK = auto()
    ROW_USE = auto()


class ACM(Layout):
    """The manufacturers' [arm, commodity, manufacturer] arrays (pack ``acm``)."""

    MSTOCK = auto()
    WANT_M = auto()
    CRIT_Q = auto()
    Q0 = auto()
    SAFETY = auto()
    X = auto()
    GAP = auto()
    BOUGHT = auto()
    NEED_CRIT = auto()
    NEED_REST = auto()


class AS(Layout):
    """The suppliers' [arm, supplier] arrays (pack ``as_``)."""

    OUT_S = auto()
    REACH_S = auto()
    FACTOR = auto()
    SHIP_S = auto()


class C1(Layout):
    """Per-commodity arrays [commodity] of the engine and the parties (pack ``c1``)."""

    SURGE = auto()
    RESTRICTED_C = auto()
    TARGET = auto()
    R_ROOM_CAP = auto()
    P_ARRIVALS = auto()
    P_ENT_ENTITLED = auto()
    P_DRAWN_TODAY = auto()
    NORMAL_SUPPLY = auto()
    SUPPLY_LEFT = auto()
    CAN = auto()
    ROOM = auto()
    P_DRAWN = auto()


class CB(Layout):
    """Per-commodity flags [commodity], bool (pack ``cb``)."""

    BUY_ON = auto()
    MAJOR = auto()
    FLIPPED = auto()
    HAS_RESERVE = auto()
    IS_SHORTFALL = auto()
    IS_PRICE = auto()
    IS_COVER = auto()
    TRIGGERED = auto()


class CK(Layout):
    """The parties' [commodity, holder] arrays (pack ``p_ck``).

    Swaps out, drawn tonnes awaiting buy-back, entitlements, draws on their way, the draw decision's
    requests and draws; ``entitled`` is each holder's 0/1 in every row; ``work`` is scratch space.
    """

    OUT_SWAP = auto()
    PENDING = auto()
    ENT = auto()
    TRANSIT = auto()
    NEED = auto()
    D = auto()
    ENTITLED = auto()
    WORK = auto()


class HOLD(Layout):
    """The parties' fixed integers (pack ``hold``).

    Each holder's party, whether it is a member, an ally [holder]; each commodity's release lag, days
    [commodity] (rows padded to the longer of the two).
    """

    PARTY_OF = auto()
    IS_MEMBER = auto()
    IS_ALLY = auto()
    LAG = auto()


class SB(Layout):
    """Per-supplier flags [supplier], bool (pack ``sb``).

    The two arms' active rows are ``sb[SB.ACTIVE_RESERVE:SB.ACTIVE_RESERVE + 2]``.
    """

    ACTIVE_RESERVE = auto()
    ACTIVE_COUNTERFACTUAL = auto()
    RESTRICTED = auto()
    DOMESTIC = auto()


class SI(Layout):
    """Per-supplier integers [supplier] (pack ``si``).

    The commodity, and days from shipment to arrival (delays included).
    """

    SUP_C = auto()
    LEAD = auto()


class S1(Layout):
    """Per-supplier shares of output [supplier] (pack ``s1``).

    The share left to every buyer, and to the bloc (shocks).
    """

    MULT = auto()
    BLOC_KEEP = auto()


class CM(Layout):
    """Per [commodity, manufacturer] settings and state (pack ``cm``)."""

    CRITICAL = auto()
    VOLL_M = auto()
    CROWD_CUT = auto()
    OWED_CALM = auto()
    BASE_SAFETY = auto()
    SAFETY_DAYS = auto()
    ELIGIBLE = auto()


class WC(Layout):
    """Fixed per-commodity parameters [commodity] (pack ``wc``).

    Taken from the World's attributes of the same names (or the engine's fixed values).
    """

    REF_PRICE = auto()
    ELASTICITY = auto()
    ROW_ELASTICITY = auto()
    ROW_CRITICAL = auto()
    ROW_SAFETY_DAYS = auto()
    LONG_RUN_GAP = auto()
    HYSTERESIS = auto()
    SUBST_RATE = auto()
    SUPPLY_ELASTICITY = auto()
    SUPPLY_RATE = auto()
    SUPPLY_MAX = auto()
    PRECAUTION_DAYS = auto()
    PIPELINE_DAYS = auto()
    RESTOCK_RATE = auto()
    R_BUY_CEILING_USD = auto()
    PRICE_ADJUST = auto()
    PRICE_FLOOR = auto()
    PRICE_CAP = auto()
    DWL_A = auto()
    DWL_G1 = auto()
    DWL_XC = auto()
    DWL_LOG = auto()
    R_HOLD_USD_PER_T_DAY = auto()
    R_BUY_COMPETE = auto()
    BUY_MAX_RESERVE = auto()
    BUY_MAX_COUNTERFACTUAL = auto()
    R_TRIGGER_PRICE_USD = auto()
    R_TRIGGER_COVER = auto()
    MAJOR_PRICE_USD = auto()
    MAJOR_LOSS = auto()
    R_FLOOR_SHARE = auto()
    R_OFFSET = auto()
    R_EARLY = auto()
    LOCKED_PRICE_USD = auto()
    PREMIUM_SHARE = auto()
    LOG_PRICE_FLOOR = auto()
    LOG_PRICE_CAP = auto()
    STORAGE_ON = auto()


class DCM(Layout):
    """The world's daily [row, day, commodity, manufacturer] arrays (:mod:`sim.model.daily`)."""

    DEMAND = auto()
    EXPECTED = auto()
    CRITICAL_T = auto()
    CRITICAL_EXPECTED = auto()
    SHARE = auto()


class DC(Layout):
    """The world's daily [row, day, commodity] arrays (:mod:`sim.model.daily`)."""

    ROW_DEMAND = auto()
    MARKET_STOCK_LEVEL = auto()
    DE_TOT = auto()


class DS(Layout):
    """The world's daily [row, day, supplier] arrays (:mod:`sim.model.daily`)."""

    CAP_NOISE = auto()
    CAP_EXPECTED = auto()


class MONEY(Layout):
    """The finance's scalars shared with the compiled payments (array ``money``).

    Cash and the settings a payment needs.
    """

    CASH = auto()
    FEE_SHARE = auto()
    LOAN_SHARE = auto()
    PARTIES_FEE_SHARE = auto()
    UNPAID_FEE = auto()
    UNPAID_PURCHASE = auto()
    UNPAID_PARTIES_FEE = auto()
    N_DRAWS = auto()


class FAC(Layout):
    """One row per programme facility (array ``fac`` [facility, FAC])."""

    BALANCE = auto()
    DRAWN = auto()
    ACCRUED_INTEREST = auto()
    ACCRUED_FEE = auto()
    T_LAST = auto()
    CLOSE = auto()
    DRAW_END = auto()
    AVAIL_END = auto()
    COMMITMENT = auto()
    RATE = auto()
    FEE_SHARE = auto()
    FOR_RESERVE = auto()


class FLAG(Layout):
    """The day's switches (pack ``flags``, int).

    Substitution on, supply response on, parties, reserve buying, Newton (bloc and world elasticities
    differ), a reserve holds something; the parties' state (drawn tonnes await buy-back, a draw was
    made); some reserve releases early (price or cover trigger); non-members may buy free stock; the
    kernel delivers the parties' draws, and draws may be due today; the whole day runs in one call;
    members' draws are swaps.
    """

    SUBSTITUTION = auto()
    SUPPLY_RESPONSE = auto()
    PARTIES = auto()
    BUYING = auto()
    NEWTON = auto()
    RESERVE = auto()
    PENDING_ON = auto()
    OUTSTANDING = auto()
    EARLY = auto()
    FREE_STOCK_SALES = auto()
    KERNEL_DELIVERS = auto()
    DELIVERIES = auto()
    WHOLE_DAY = auto()
    SWAP = auto()


#: Row names of the packs, for building the engine's and the world's views and the series' columns.
SERIES = REC.names()
PARTY_SERIES = SERIES[REC.ENTITLEMENT_T:]
