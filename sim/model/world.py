"""Compile a validated scenario into the arrays the engine steps over.

Built once per run (desmod's "build" phase); the engine only reads these arrays and
mutates its own state. Arm 0 is the reserve arm, arm 1 the counterfactual (no reserve,
no reserve financing, no projects unless ``in_counterfactual``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from sim.core.rng import Streams
from sim.kernels.layout import DC, DCM, DS, WC
from sim.model.daily import DailyArrays, DailySpec, daily_arrays
from sim.model.storage_market import StorageMarket
from sim.scenario.schema import Commodity, Scenario

ARMS = ("reserve", "counterfactual")
#: Points of the holders' carry-out grid (competitive storage).
STORAGE_GRID_POINTS = 400
#: Numbers of a held commodity's ``release`` section that the kernels read as they are: the row of
#: their per-commodity parameters (WC) each fills -> (the field, its value where nothing is held).
RELEASE_NUMBERS: dict[WC, tuple[str, float]] = {
    WC.R_OFFSET: ("offset_share", 0.0),
    WC.R_FLOOR_SHARE: ("floor_share", 0.0),
    WC.R_TRIGGER_COVER: ("trigger_cover_days", 0.0),
}
#: Longest extra delay a logistics shock may add, days (keeps the pipeline ring finite).
MAX_EXTRA_DELAY_DAYS = 365


@dataclass
class World:
    """Static arrays of one run. Shapes: C commodities, S suppliers, M manufacturers."""

    commodity_ids: list[str]
    supplier_ids: list[str]
    manufacturer_ids: list[str]
    horizon: int
    # commodities [C]: the world market
    ref_price: np.ndarray
    elasticity: np.ndarray  # short-run demand elasticity (magnitude)
    long_run_gap: np.ndarray  # long-run minus short-run elasticity (0 = no substitution)
    subst_rate: np.ndarray  # 1 / substitution time constant, per day
    hysteresis: np.ndarray
    supply_elasticity: np.ndarray
    supply_rate: np.ndarray  # 1 / supply response time constant, per day
    supply_max: np.ndarray  # 1 + spare capacity share
    price_adjust: np.ndarray
    price_cap: np.ndarray
    price_floor: np.ndarray
    market_stock_days: np.ndarray
    precaution_days: np.ndarray
    voll: np.ndarray  # value of lost output per critical tonne, USD/t
    row_elasticity: np.ndarray
    row_critical: np.ndarray
    row_safety_days: np.ndarray  # [C] the rest of the world's users' safety stock, days of their use
    # suppliers [S] (projects appended, inactive until they complete)
    sup_c: np.ndarray
    sup_cap_tpd: np.ndarray
    sup_lead: np.ndarray
    sup_active0: np.ndarray  # [A, S]
    sup_domestic: np.ndarray  # [S] bool: in the bloc's own country (not an import)
    project_rows: dict[str, int]
    # manufacturers
    critical: np.ndarray  # [C, M] critical share
    safety_days: np.ndarray  # [M]
    restock_rate: np.ndarray  # [C] demand-weighted mean of 1 / restock_days over manufacturers
    priority_classes: np.ndarray  # [K, M] 0/1 masks, first served first
    member: np.ndarray  # [M] bool
    loss_mult: np.ndarray  # [M] multiplier of the value of lost output
    pipeline_days: np.ndarray  # [C] capacity-weighted lead time
    # reserve, per arm and commodity [A, C]
    has_reserve: np.ndarray  # [C] bool
    r_initial: np.ndarray
    r_target_t: np.ndarray  # [C] nan when target is in days
    r_target_days: np.ndarray  # [C] nan when target is in tonnes
    r_capacity: np.ndarray  # [C] inf when unlimited
    r_buy_max_tpd: np.ndarray  # [A, C]
    r_buy_ceiling: np.ndarray  # [C] price ratio
    r_buy_compete: np.ndarray  # [C] bool
    r_review_days: np.ndarray  # [C] int
    r_trigger: np.ndarray  # [C] 0 shortfall, 1 price, 2 cover
    r_trigger_price: np.ndarray  # [C]
    r_release_max_tpd: np.ndarray  # [A, C] fixed drawdown capacity (nan = from target and drawdown days)
    r_drawdown_days: np.ndarray  # [C] (inf = uncapped)
    r_release_lag: np.ndarray  # [C] int days from decision to delivery
    r_release_classes: np.ndarray  # [2, C, M] 0/1 masks: served first, served second
    r_release_price: np.ndarray  # [C] ratio; nan = market
    release: dict[str, np.ndarray]  # the release settings of RELEASE_NUMBERS, by WC row name [C]
    r_hold_usd_per_t_day: np.ndarray  # [C]
    ring: int
    daily: DailyArrays  # the daily packs (sim/model/daily.py), read only
    storage_on: np.ndarray  # [C] bool: the price clears with holders' stocks (price_model: storage)
    storage_fn: np.ndarray  # [2, C, 2, G] holders' carry-out functions (availability, stock) per regime, normalised
    storage_steady_days: np.ndarray  # [C] the stock holders keep in normal times, days of world reference demand
    # views into the daily packs, set in __post_init__: daily quantities that do not depend on state
    demand: np.ndarray = field(init=False)  # [H, C, M] t/day at the reference price, with growth and noise
    expected: np.ndarray = field(init=False)  # [H, C, M] t/day with growth, no noise
    critical_t: np.ndarray = field(init=False)  # [H, C, M] critical demand, t/day
    critical_expected: np.ndarray = field(init=False)  # [H, C, M] expected critical demand, t/day
    share: np.ndarray = field(init=False)  # [H, C, M] manufacturers' share of expected demand
    row_demand: np.ndarray = field(init=False)  # [H, C] rest-of-world demand at reference price, t/day
    market_stock_level: np.ndarray = field(init=False)  # [H, C] traders' normal stocks, t
    de_tot: np.ndarray = field(init=False)  # [H, C] expected demand
    cap_noise: np.ndarray = field(init=False)  # [H, S] capacity x growth x noise, t/day
    cap_expected: np.ndarray = field(init=False)  # [H, S] capacity x growth, t/day (what the market expects)
    sup_noise: np.ndarray = field(init=False)  # [H, S] output noise x capacity growth, multiple of day-0 capacity
    sup_growth: np.ndarray = field(init=False)  # [H, S] capacity growth, multiple of day-0 capacity

    def __post_init__(self) -> None:
        # the engine's compiled day takes the three packs (three arguments instead of ten); the named
        # fields are views into them
        d = self.daily
        self.daily_cm, self.daily_c, self.daily_s = d.cm, d.c, d.s
        self.demand, self.expected = d.cm[DCM.DEMAND], d.cm[DCM.EXPECTED]
        self.critical_t, self.critical_expected, self.share = d.cm[DCM.CRITICAL_T], d.cm[DCM.CRITICAL_EXPECTED], \
            d.cm[DCM.SHARE]
        self.row_demand, self.market_stock_level, self.de_tot = d.c[DC.ROW_DEMAND], d.c[DC.MARKET_STOCK_LEVEL], \
            d.c[DC.DE_TOT]
        self.cap_noise, self.cap_expected = d.s[DS.CAP_NOISE], d.s[DS.CAP_EXPECTED]
        self.sup_noise, self.sup_growth = d.sup_noise, d.sup_growth
        self.r_buy_ceiling_usd = self.r_buy_ceiling * self.ref_price
        self.r_trigger_price_usd = self.r_trigger_price * self.ref_price
        # every policy releases against an actual shortfall; 'price' and 'cover' also release earlier
        self.r_is_shortfall = self.has_reserve.copy()
        self.r_is_price = self.has_reserve & (self.r_trigger == 1)
        self.r_is_cover = self.has_reserve & (self.r_trigger == 2)
        self.any_price_trigger = bool(self.r_is_price.any())
        self.any_cover_trigger = bool(self.r_is_cover.any())
        self.r_early = (self.r_is_price | self.r_is_cover).astype(float)
        self.any_early = bool(self.r_early.any())
        # who may receive releases, and how a delivery nobody needs today is shared among them
        self.r_eligible = self.r_release_classes.sum(0) > 0  # [C, M]
        base = self.expected[0] * self.r_eligible
        tot = base.sum(-1, keepdims=True)
        n = np.maximum(self.r_eligible.sum(-1, keepdims=True), 1)
        self.r_eligible_share = np.where(tot > 0, base / np.maximum(tot, 1e-300), self.r_eligible / n)
        self.any_substitution = bool((self.long_run_gap > 0).any())
        self.any_supply_response = bool((self.supply_elasticity > 0).any())


_TRIGGERS = {"shortfall": 0, "price": 1, "cover": 2}


def build_world(s: Scenario, streams: Streams) -> World:
    """Compile ``s`` into a :class:`World`, drawing pre-sampled noise from ``streams``."""
    H = s.run.horizon_days
    cids = list(s.commodities)
    cidx = {c: i for i, c in enumerate(cids)}
    C = len(cids)
    com = [s.commodities[c] for c in cids]

    sids = list(s.suppliers)
    rows = [
        (sid, sp.commodity, sp.capacity_tpy, sp.lead_time_days, sp.output_cv, sp.capacity_growth_per_year)
        for sid, sp in s.suppliers.items()
    ]
    project_rows: dict[str, int] = {}
    for pid, p in s.projects.items():
        project_rows[pid] = len(rows)
        rows.append((f"project:{pid}", p.commodity, p.capacity_tpy, p.lead_time_days, p.output_cv, 0.0))
    S = len(rows)
    sup_c = np.array([cidx[r[1]] for r in rows], dtype=np.intp)
    sup_cap = np.array([r[2] for r in rows], dtype=float) / 365.0
    sup_lead = np.array([r[3] for r in rows], dtype=np.intp)
    domestic = np.array(
        [(s.suppliers[r[0]].country if r[0] in s.suppliers else s.projects[r[0].split(":", 1)[1]].country)
         == s.bloc.country for r in rows],
        dtype=bool,
    )
    active0 = np.ones((2, S), dtype=bool)
    active0[:, list(project_rows.values())] = False

    mids = list(s.manufacturers)
    M = len(mids)
    critical = [[s.manufacturers[m].critical_share_by_commodity.get(c, s.manufacturers[m].critical_share)
                 for m in mids] for c in cids]
    spec = DailySpec(
        horizon_days=H,
        n_commodities=C,
        suppliers=tuple((f"output:{r[0]}" if r[0].startswith("project:") else f"supplier:{r[0]}", r[2], r[4], r[5])
                        for r in rows),
        manufacturers=tuple(
            (mid, man.demand_cv, tuple((cidx[c], q / 365.0, man.growth_by_commodity.get(c, man.growth_per_year))
                                       for c, q in man.demand_tpy.items()))
            for mid, man in s.manufacturers.items()),
        critical=tuple(tuple(row) for row in critical),
        rest_of_world=tuple((x.rest_of_world.demand_tpy, x.rest_of_world.growth_per_year) for x in com),
        market_stock_days=tuple(x.market_stock_days for x in com),
    )
    daily = daily_arrays(spec, streams)
    critical = np.array(critical, dtype=float).reshape(C, M)
    safety = np.array([s.manufacturers[m].safety_stock_days for m in mids], dtype=float)
    inv_restock = np.array([1.0 / s.manufacturers[m].restock_days for m in mids])
    weight = daily.cm[DCM.EXPECTED, 0]
    fallback = float(inv_restock.mean()) if M else 0.0
    restock_rate = np.where(weight.sum(-1) > 0, (weight @ inv_restock) / np.maximum(weight.sum(-1), 1e-300), fallback)
    prios = np.array([s.manufacturers[m].priority for m in mids])
    classes = np.array([prios == p for p in sorted(set(prios.tolist()))], dtype=float).reshape(-1, M)
    member = np.array([s.manufacturers[m].member for m in mids], dtype=bool)
    loss_mult = np.array([s.manufacturers[m].loss_multiplier for m in mids], dtype=float)

    base_cap = np.zeros(C)
    lead_w = np.zeros(C)
    for j in range(len(sids)):
        base_cap[sup_c[j]] += sup_cap[j]
        lead_w[sup_c[j]] += sup_cap[j] * sup_lead[j]
    pipeline_days = np.where(base_cap > 0, lead_w / np.maximum(base_cap, 1e-300), 0.0)

    nan = np.full(C, np.nan)
    has = np.zeros(C, dtype=bool)
    r_init = np.zeros((2, C))
    tgt_t, tgt_d = nan.copy(), nan.copy()
    cap = np.full(C, np.inf)
    buy = np.zeros((2, C))
    ceiling = np.ones(C)
    compete = np.zeros(C, dtype=bool)
    review = np.full(C, 30, dtype=np.intp)
    trig = np.zeros(C, dtype=np.intp)
    trig_p = np.full(C, np.inf)
    rel = np.zeros((2, C))
    drawdown = np.full(C, np.inf)
    lag = np.zeros(C, dtype=np.intp)
    rel_price = np.ones(C)
    release = {row.name.lower(): np.full(C, default) for row, (_, default) in RELEASE_NUMBERS.items()}
    hold = np.zeros(C)
    first = np.zeros((C, M), dtype=bool)
    second = np.zeros((C, M), dtype=bool)
    for c, r in s.reserve.items():
        i = cidx[c]
        has[i] = True
        r_init[0, i] = r.initial_stock_t
        if r.target_t is not None:
            tgt_t[i] = r.target_t
        else:
            tgt_d[i] = r.target_days
        cap[i] = r.capacity_t if r.capacity_t is not None else np.inf
        buy[0, i] = r.buy.max_rate_tpy / 365.0
        ceiling[i] = r.buy.price_ceiling_ratio
        compete[i] = r.buy.mode == "compete"
        review[i] = r.buy.review_interval_days
        trig[i] = _TRIGGERS[r.release.trigger]
        trig_p[i] = r.release.trigger_price_ratio
        rel[0, i] = np.nan if r.release.max_rate_tpy is None else r.release.max_rate_tpy / 365.0
        drawdown[i] = np.inf if r.release.drawdown_days is None else r.release.drawdown_days
        lag[i] = r.release.delivery_lag_days
        rel_price[i] = np.nan if r.release.price_ratio is None else r.release.price_ratio
        for row, (key, _) in RELEASE_NUMBERS.items():
            release[row.name.lower()][i] = getattr(r.release, key)
        hold[i] = (
            r.holding_cost_usd_per_t_day + r.holding_cost_share_per_year * com[i].reference_price_usd_per_t / 365.0
        )
        alloc = r.release.allocation
        if alloc == "pro_rata":
            first[i, :] = True
        else:
            first[i, :] = member
            if alloc == "members_first":
                second[i, :] = ~member

    ring = int(max(sup_lead.max(initial=0), lag.max(initial=0))) + MAX_EXTRA_DELAY_DAYS + 2
    e_short = np.array([x.demand_elasticity for x in com])
    e_long = np.array([x.long_run_demand_elasticity or x.demand_elasticity for x in com])
    return World(
        commodity_ids=cids,
        supplier_ids=[r[0] for r in rows],
        manufacturer_ids=mids,
        horizon=H,
        ref_price=np.array([x.reference_price_usd_per_t for x in com]),
        elasticity=e_short,
        long_run_gap=e_long - e_short,
        subst_rate=np.array([1.0 / x.substitution_time_days for x in com]),
        hysteresis=np.array([x.substitution_hysteresis_share for x in com]),
        supply_elasticity=np.array([x.supply_elasticity for x in com]),
        supply_rate=np.array([1.0 / x.supply_response_days for x in com]),
        supply_max=np.array([1.0 + x.spare_capacity_share for x in com]),
        price_adjust=np.array([x.price_adjust_per_day for x in com]),
        price_cap=np.array([x.price_cap_ratio for x in com]),
        price_floor=np.array([x.price_floor_ratio for x in com]),
        market_stock_days=np.array([x.market_stock_days for x in com]),
        precaution_days=np.array([x.precautionary_cover_days for x in com]),
        voll=np.array([x.value_of_lost_output_usd_per_t for x in com]),
        row_elasticity=np.array([x.rest_of_world.demand_elasticity or x.demand_elasticity for x in com]),
        row_critical=np.array([x.rest_of_world.critical_share for x in com]),
        row_safety_days=np.array([x.rest_of_world.safety_stock_days for x in com]),
        sup_c=sup_c,
        sup_cap_tpd=sup_cap,
        sup_lead=sup_lead,
        sup_active0=active0,
        sup_domestic=domestic,
        project_rows=project_rows,
        critical=critical,
        safety_days=safety,
        restock_rate=restock_rate,
        priority_classes=classes,
        member=member,
        loss_mult=loss_mult,
        pipeline_days=pipeline_days,
        has_reserve=has,
        r_initial=r_init,
        r_target_t=tgt_t,
        r_target_days=tgt_d,
        r_capacity=cap,
        r_buy_max_tpd=buy,
        r_buy_ceiling=ceiling,
        r_buy_compete=compete,
        r_review_days=review,
        r_trigger=trig,
        r_trigger_price=trig_p,
        r_release_max_tpd=rel,
        r_drawdown_days=drawdown,
        r_release_lag=lag,
        r_release_classes=np.array([first, second], dtype=float),
        r_release_price=rel_price,
        release=release,
        r_hold_usd_per_t_day=hold,
        ring=ring,
        daily=daily,
        storage_on=np.array([x.price_model == "storage" for x in com], dtype=bool),
        storage_fn=storage_functions(com),
        storage_steady_days=np.array([_steady_days(x) for x in com]),
    )


def _steady_days(x: Commodity) -> float:
    """The stock holders keep in normal times, days of world reference demand (0 without competitive storage)."""
    if x.price_model != "storage":
        return 0.0
    st = x.storage
    return _market(x.demand_elasticity, x.price_cap_ratio, st.carry_share_per_year, st.discount_rate_per_year,
                   st.cut_rate_per_year, st.cut_share, st.cut_days).steady_stock(0)


def storage_functions(com: list) -> np.ndarray:
    """Holders' carry-out functions of every commodity [2 (availability, stock), C, 2 (normal, cut), G].

    Normalised to a market whose reference use and normal supply are 1 a day; zeros for a commodity
    whose price does not clear with stocks.
    """
    out = np.zeros((2, len(com), 2, STORAGE_GRID_POINTS))
    for i, x in enumerate(com):
        if x.price_model == "storage":
            st = x.storage
            out[:, i] = _carry_function(x.demand_elasticity, x.price_cap_ratio, st.carry_share_per_year,
                                        st.discount_rate_per_year, st.cut_rate_per_year, st.cut_share, st.cut_days)
    return out


@lru_cache(maxsize=256)
def _market(elasticity: float, cap: float, carry_share: float, rate: float, cut_rate: float, cut_share: float,
            cut_days: float) -> StorageMarket:
    """One commodity's storage market, normalised to a reference use of 1 a day; solved once per process."""
    hazard = cut_rate / 365.0
    return StorageMarket(
        p0=1.0, demand_tpd=1.0, elasticity=elasticity, cap_ratio=cap, carry_usd_per_t_day=carry_share / 365.0,
        discount_per_day=math.exp(-rate / 365.0), supply_tpd=np.array([1.0, 1.0 - cut_share]),
        transition=np.array([[1.0 - hazard, hazard], [1.0 / cut_days, 1.0 - 1.0 / cut_days]]),
        grid_points=STORAGE_GRID_POINTS)


@lru_cache(maxsize=256)
def _carry_function(*values: float) -> np.ndarray:
    """One commodity's normalised carry-out functions [2, 2, G] (read only), for :func:`_market`'s values."""
    fn = np.stack(_market(*values).carry_grid())
    fn.setflags(write=False)
    return fn
