"""The engine's state as declared attributes: named views of the packs that its Python reads or updates.

Rows that only the kernels use are not named here; they stay reachable as ``packs.<pack>[ROW]``.
Views are updated in place, never rebound (the kernels hold the packs).
"""

from __future__ import annotations

from sim.kernels.layout import AC, ACM, AS, C1, CB, S1, SB, SI
from sim.model.packs import PackRow


class EngineViews:
    """Declared views of the engine's packs (``self.packs``, :class:`sim.model.packs.Packs`)."""

    # [A, C]: prices, stocks, pipelines, the day's flows
    price = PackRow("ac", AC.PRICE, "Market price [A, C], USD/t.")
    clearing = PackRow("ac", AC.CLEARING, "Last clearing price ratio [A, C] (Newton's warm start).")
    rstock = PackRow("ac", AC.RSTOCK, "Reserve stock [A, C], t.")
    wstock = PackRow("ac", AC.WSTOCK, "Traders' stocks outside the bloc [A, C], t.")
    transit_m = PackRow("ac", AC.TRANSIT_M, "Manufacturers' purchases on their way [A, C], t.")
    transit_r = PackRow("ac", AC.TRANSIT_R, "Reserve purchases on their way [A, C], t.")
    transit_rel = PackRow("ac", AC.TRANSIT_REL, "Releases on their way to manufacturers [A, C], t.")
    output = PackRow("ac", AC.OUTPUT, "Producers' output today [A, C], t.")
    produced = PackRow("ac", AC.PRODUCED, "Output sold today [A, C], t.")
    row_want = PackRow("ac", AC.ROW_WANT, "Rest-of-world demand today [A, C], t.")
    row_got = PackRow("ac", AC.ROW_GOT, "What the world market served the rest of the world [A, C], t.")
    row_own = PackRow("ac", AC.ROW_OWN, "Allies' draws to rest-of-world buyers today [A, C], t.")
    row_stock = PackRow("ac", AC.ROW_STOCK, "The rest of the world's users' own stock [A, C], t.")
    want_r = PackRow("ac", AC.WANT_R, "The reserve's order today [A, C], t.")
    buy = PackRow("ac", AC.BUY, "What the reserve bought today [A, C], t.")
    arr_r = PackRow("ac", AC.ARR_R, "The reserve's purchases arriving today [A, C], t.")
    supply_lost = PackRow("ac", AC.SUPPLY_LOST, "Share of normal supply lost today [A, C].")
    releases = PackRow("ac", AC.RELEASES, "The reserve's releases and draws today [A, C], t.")
    other_rel = PackRow("ac", AC.OTHER_REL, "Other public stocks' releases today [A, C], t.")
    delivered_rel = PackRow("ac", AC.DELIVERED_REL, "Releases and draws delivered today [A, C], t.")
    drawdown = PackRow("ac", AC.DRAWDOWN, "Most the reserve can release per day [A, C], t.")
    # [A, C, M]: manufacturers
    mstock = PackRow("acm", ACM.MSTOCK, "Manufacturers' stocks at the start of the day [A, C, M], t.")
    x = PackRow("acm", ACM.X, "Manufacturers' stocks during the day [A, C, M], t.")
    want_m = PackRow("acm", ACM.WANT_M, "Manufacturers' use today [A, C, M], t.")
    safety = PackRow("acm", ACM.SAFETY, "Manufacturers' safety stocks [A, C, M], t.")
    gap = PackRow("acm", ACM.GAP, "What manufacturers lack for today's use [A, C, M], t.")
    # [A, S]: suppliers
    out_s = PackRow("as_", AS.OUT_S, "Each supplier's output today [A, S], t.")
    # [C]: shocks and the reserve's settings
    surge = PackRow("c1", C1.SURGE, "Demand multiplier of demand surges [C].")
    restricted_c = PackRow("c1", C1.RESTRICTED_C, "1 while an export restriction is on [C].")
    target = PackRow("c1", C1.TARGET, "The reserve's target [C], t.")
    r_room_cap = PackRow("c1", C1.R_ROOM_CAP, "Most the reserve may hold [C], t (its target, at most its capacity).")
    can = PackRow("c1", C1.CAN, "The reserve's stock above its floor today [C], t.")
    room = PackRow("c1", C1.ROOM, "Most the reserve can release today [C], t.")
    buy_on = PackRow("cb", CB.BUY_ON, "The reserve buys until its next review [C].")
    triggered = PackRow("cb", CB.TRIGGERED, "The reserve's trigger has held since the last review [C].")
    # [S]: suppliers' shocks
    mult = PackRow("s1", S1.MULT, "Share of each supplier's output left to every buyer [S] (untargeted shocks).")
    bloc_keep = PackRow("s1", S1.BLOC_KEEP, "Share of the rest the bloc can reach [S] (targeted restrictions).")
    active = PackRow("sb", slice(SB.ACTIVE_RESERVE, SB.ACTIVE_RESERVE + 2), "Suppliers producing, per arm [A, S].")
    restricted = PackRow("sb", SB.RESTRICTED, "Suppliers under a restriction [S].")
    lead = PackRow("si", SI.LEAD, "Days from shipment to arrival [S], logistics delays included.")
    # pipelines by arrival day [R, A, C]
    ring_m = PackRow("ring", 0, "Manufacturers' purchases by arrival slot [R, A, C], t.")
    ring_r = PackRow("ring", 1, "The reserve's purchases by arrival slot [R, A, C], t.")
