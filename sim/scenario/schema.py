"""The scenario schema: the contract between scenario files and the model.

Every model forbids unknown keys. Units are in field names (``_t`` tonnes, ``_tpy``
tonnes per year, ``_days``, ``_usd``, ``_usd_per_t``) or stated in the description.
Sections keyed by id (commodities, suppliers, ...) are mappings so that variants can
override one entry by deep merge and ``--set`` can address it by path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Optional, Union

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.scenario.changes import derive
from sim.scenario.distributions import Fixed, coerce_distribution
from sim.scenario.distributions import NonNegativeDistribution as Distribution
from sim.scenario.numbers import NUMBER_RULES, within_magnitude

#: A calendar date; unlike numbers, a date may be written as a string ("2026-02-02").
Date = Annotated[dt.date, pydantic.Strict(False)]
DayOrDate = Union[Date, int]


class Strict(BaseModel):
    """Base for every schema model.

    Unknown keys are errors, values are validated on set, and the number rules of
    :mod:`sim.scenario.numbers` apply to every numeric field of every subclass: finite
    numbers within +-1e15 only, and no booleans or strings where a number belongs.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, **NUMBER_RULES)

    _magnitude = field_validator("*")(within_magnitude)


def _dist(v: object) -> object:
    return coerce_distribution(v)


class Assumption(Strict):
    """A number that is not from a source, and why it has the value it has."""

    key: str = Field(description="Key path of the assumed value, e.g. financing.facilities.exim.interest_rate.")
    reason: str = Field(min_length=1, description="Why this value was chosen.")


class Meta(Strict):
    """Who wrote the scenario, what it is for, and where its numbers come from."""

    name: str = Field("unnamed", description="Short name shown in reports.")
    description: str = Field("", description="What the scenario represents and the question it answers.")
    sources: dict[str, str] = Field(
        default_factory=dict, description="Source key -> citation for the numbers in this file."
    )
    assumptions: list[Assumption] = Field(
        default_factory=list, description="Values not taken from a source, each with a reason."
    )


class Run(Strict):
    """Run settings: how to run, not what is modelled."""

    start_date: Date = Field(dt.date(2026, 2, 2), description="Calendar date of day 0.")
    horizon_years: float = Field(15.0, gt=0, le=100, description="Simulated span in years (365 days each).")
    seed: int = Field(20260202, ge=0, description="Root seed of numpy.random.SeedSequence.")
    replications: int = Field(1, ge=1, description="Number of replications for `run`.")

    @property
    def horizon_days(self) -> int:
        """Number of simulated days."""
        return int(round(self.horizon_years * 365))


class Evaluation(Strict):
    """How outcomes are valued: the settings of the economic, programme and budget views.

    Each view discounts the flows it counts at the rate that matches them: the national
    economic view real resource flows at a real rate, the programme view the vehicle's cash
    at its loan rate, the budget view the lender's loan cash flows at the Treasury rate.
    """

    discount_rate_per_year: float = Field(
        0.07,
        ge=0,
        lt=1,
        description="Real discount rate of the national economic view and of every loss NPV KPI "
        "(share per year, annual compounding). Default 7%: the base-case real rate of OMB Circular "
        "A-94 (29 Oct 1992), reinstated when OMB memo M-25-23 (2025) rescinded the 2023 revision "
        "(which had lowered it to about 2%); see shared/data/CALIBRATION.md section 4.",
    )
    treasury_rate_per_year: float = Field(
        0.0445,
        ge=0,
        lt=1,
        description="Nominal Treasury yield at which the federal budget view discounts loan cash "
        "flows (FCRA subsidy cost), bond-equivalent (semi-annual compounding). Default 4.45%: a "
        "15-year maturity interpolated between the 10-year (4.22%, 9 Feb 2026) and 20-year (4.66%, "
        "18 Feb 2026 auction) yields, CALIBRATION.md section 4. FCRA discounts each year's flow at "
        "the matching-maturity rate; one rate of the loan's tenor is the simplification used here.",
    )
    recovery_rate: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of a defaulted loan amount the lender expects to recover (budget view and "
        "the lender's losses on project loans). Default 50%: EXIM's average recovery on defaults "
        "since 1992 (CRS R43581, Mar 2015; CALIBRATION.md section 4).",
    )
    liquidation_discount_max: float = Field(
        0.5,
        ge=0,
        lt=1,
        description="Largest discount to the market price at which the stock left at the horizon "
        "could be sold (terminal value). Discount d = liquidation_discount_max x x / (x + "
        "liquidation_half_supply_years), x = stock / one year of world supply of that commodity. "
        "Default 0.5: an assumption (a forced sale of a multi-year stock halves the price).",
    )
    liquidation_half_supply_years: float = Field(
        0.05,
        gt=0,
        description="Stock, in years of world supply, at which the liquidation discount reaches half "
        "of liquidation_discount_max. Default 0.05 (about 18 days of world supply): with it, China's "
        "2021 state-reserve auctions of copper (110 kt in four batches, ~0.5% of a year of world "
        "copper supply) get a 4.5% discount, inside the 3-9% below market they sold at "
        "(CALIBRATION.md section 5).",
    )
    bloc_country: str = Field(
        "United States",
        description="Country of the bloc. In the economic view a project located there is domestic "
        "(its capex, opex and sales count); a project elsewhere counts only through the bloc "
        "lender's loan flows.",
    )


class RestOfWorld(Strict):
    """The world's buyers outside the bloc (and outside any restricting country), as one buyer."""

    demand_tpy: float = Field(
        0.0, ge=0, description="Consumption at the reference price at day 0, t/yr (world supply less bloc demand)."
    )
    growth_per_year: float = Field(0.0, gt=-1, description="Demand growth, share per year (compound).")
    demand_elasticity: Optional[float] = Field(
        None, gt=0, description="Short-run price elasticity of demand (magnitude); null = the commodity's."
    )
    critical_share: float = Field(
        0.0, ge=0, le=1, description="Share of demand that does not respond to price and is served first."
    )
    safety_stock_days: float = Field(
        0.0, ge=0, description="Stock the rest of the world's users keep, days of their use at the reference price. "
        "They order to keep it as the bloc's manufacturers do (the world market serves everyone's use before anyone's "
        "stock building) and use it when the market leaves them short (0: they use what they buy each day)."
    )


class StorageMarketSpec(Strict):
    """Competitive storage: holders outside the reserve carry stock while the expected price rise pays for it.

    The day's price is the equilibrium price of availability (traders' stock carried in plus the
    day's output) for holders who expect cuts at these rates (Williams & Wright 1991; Deaton &
    Laroque 1992; see ``sim/model/storage_market.py``). They believe a cut is on while an export
    restriction on the commodity is in force.
    """

    carry_share_per_year: float = Field(
        0.15, gt=0, description="Holders' cost of carrying a tonne (storage, insurance), share of the reference "
        "price per year."
    )
    discount_rate_per_year: float = Field(0.05, ge=0, description="Holders' discount rate, per year.")
    cut_rate_per_year: float = Field(
        0.3, ge=0, description="Rate at which holders expect a cut to start, per year (0: they expect none)."
    )
    cut_share: float = Field(0.5, ge=0, le=1, description="Share of world supply holders expect a cut to remove.")
    cut_days: float = Field(180.0, gt=0, description="Mean length of a cut holders expect, days.")


class Commodity(Strict):
    """One material and its world market (see README, 'The model in one page')."""

    name: str = Field("", description="Display name, e.g. 'Gallium (Ga metal)'.")
    reference_price_usd_per_t: float = Field(gt=0, description="Undisturbed world price p0, USD/t.")
    demand_elasticity: float = Field(
        0.2,
        gt=0,
        description="Short-run price elasticity of demand (magnitude) of the price-responsive share of every "
        "buyer: q(p) = q0 (1 - s) (p/p0)^-e, s the substitution share.",
    )
    long_run_demand_elasticity: Optional[float] = Field(
        None,
        gt=0,
        description="Long-run elasticity (magnitude, >= the short-run one): while the price stays high, a "
        "substitution share s builds up toward 1 - (p/p0)^-(e_long - e_short); null = no substitution.",
    )
    substitution_time_days: float = Field(
        365.0, gt=0, description="Time constant of the substitution share's build-up and decay, days."
    )
    substitution_hysteresis_share: float = Field(
        0.5, ge=0, le=1, description="Share of the peak substitution that never comes back when prices fall."
    )
    supply_elasticity: float = Field(
        0.0,
        ge=0,
        description="Price elasticity of unrestricted producers' output: output tends to capacity x "
        "min(1 + spare_capacity_share, (p/p0)^elasticity) with a first-order lag.",
    )
    supply_response_days: float = Field(180.0, gt=0, description="Ramp-up time constant of the supply response, days.")
    spare_capacity_share: float = Field(
        0.1, ge=0, description="Output producers can add at high prices, share of their normal output."
    )
    price_adjust_per_day: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of the gap to the market-clearing price closed each day (0 holds the price at "
        "reference: quantities are then rationed, never priced, as in classic inventory analytics).",
    )
    price_cap_ratio: float = Field(
        10.0, ge=1, description="Choke price as a multiple of reference: the price and the demand curve stop here."
    )
    price_floor_ratio: float = Field(0.2, gt=0, le=1, description="Price never falls below this multiple of reference.")
    price_model: Literal["adjust", "storage"] = Field(
        "adjust",
        description="'adjust': the price closes price_adjust_per_day of the gap to the clearing price each day; "
        "'storage': the day's price clears the market with the stocks holders carry (competitive storage, "
        "`storage`), and traders' stocks follow their carrying decisions instead of market_stock_days.",
    )
    storage: StorageMarketSpec = Field(
        default_factory=StorageMarketSpec, description="Holders' carrying cost and expectations (price_model: storage)."
    )
    market_stock_days: float = Field(
        7.0,
        ge=0,
        description="Traders' and producers' stocks outside the bloc, days of world demand at the reference "
        "price: unsold output refills them up to this level (output beyond it is not produced) and every buyer "
        "draws on them when output falls short, so daily output noise is buffered, as by exchange stocks.",
    )
    precautionary_cover_days: float = Field(
        0.0,
        ge=0,
        description="Extra days of cover manufacturers order while an export restriction on the commodity is on.",
    )
    value_of_lost_output_usd_per_t: float = Field(
        ge=0,
        description="Value of lost output per tonne of CRITICAL demand not served, USD/t (derive it in the "
        "scenario from the value added of the products it goes into, with a source).",
    )
    rest_of_world: RestOfWorld = Field(
        default_factory=RestOfWorld, description="The world's demand outside the bloc."
    )

    @model_validator(mode="after")
    def _long_run(self) -> Commodity:
        if self.long_run_demand_elasticity is not None and self.long_run_demand_elasticity < self.demand_elasticity:
            raise ValueError("long_run_demand_elasticity must be >= demand_elasticity")
        return self


class Supplier(Strict):
    """A producer of one commodity in one country, selling into the world market."""

    commodity: str = Field(description="Commodity id.")
    country: str = Field(description="Country the material is exported from.")
    capacity_tpy: float = Field(
        ge=0,
        description="Output sold into the world market at the reference price at day 0, t/yr (for a country "
        "that consumes much of its own output, its exports).",
    )
    capacity_growth_per_year: float = Field(0.0, gt=-1, description="Capacity growth, share per year (compound).")
    lead_time_days: int = Field(30, ge=0, le=365, description="Days from shipment to arrival in the bloc.")
    output_cv: float = Field(0.0, ge=0, le=1, description="Daily output noise, coefficient of variation.")
    origin_mix: Optional[dict[str, float]] = Field(
        None,
        description="Country -> share of feedstock; exposes this supplier to that country's "
        "export restrictions in proportion to the share. Shares sum to 1.",
    )

    @field_validator("origin_mix")
    @classmethod
    def _mix_sums_to_one(cls, v: Optional[dict[str, float]]) -> Optional[dict[str, float]]:
        if v is not None:
            if any(s < 0 for s in v.values()):
                raise ValueError("origin_mix shares must be >= 0")
            if abs(sum(v.values()) - 1.0) > 1e-6:
                raise ValueError(f"origin_mix shares must sum to 1, got {sum(v.values()):.6g}")
        return v


class Project(Strict):
    """New capacity built by its own company with a loan; becomes a supplier when it completes.

    The company draws its capex on the named facility (which must have purpose 'projects'),
    capitalises interest while it builds, then sells its output at the market price, pays
    opex and its own debt service, and defaults on its loan when its cash falls short.
    """

    commodity: str = Field(description="Commodity id.")
    country: str = Field(description="Country of the new capacity.")
    capacity_tpy: float = Field(gt=0, description="Capacity once complete, t/yr.")
    lead_time_days: int = Field(30, ge=0, le=365, description="Shipping lead time once producing, days.")
    output_cv: float = Field(0.0, ge=0, le=1, description="Daily output noise once producing.")
    capex_usd: float = Field(ge=0, description="Capital cost, spent evenly over the build, USD.")
    facility: str = Field(description="Id of the financing facility that lends the capex.")
    start: DayOrDate = Field(0, description="Construction start: day number or date.")
    build_time_days: Distribution = Field(description="Construction time, days.")
    delay_probability: float = Field(0.0, ge=0, le=1, description="Chance the project is delayed.")
    delay_days: Distribution = Field(
        # an instance, not a mapping: defaults are not validated, and the model samples it
        default_factory=lambda: Fixed(value=365.0), description="Length of a delay, days."
    )
    failure_probability: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Chance the project never produces: its company defaults on the loan when the "
        "failure is known (a loan loss for the lender, guarantee_share of it for the programme).",
    )
    opex_usd_per_t: float = Field(
        0.0,
        ge=0,
        description="Operating cost per tonne the project sells, USD/t (cash cost, paid by the "
        "project company out of its sales at the market price).",
    )
    guarantee_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the project's loan loss that the reserve programme guarantees and pays "
        "when the project company defaults (0 = the lender bears the whole loss).",
    )
    enabled: bool = Field(True, description="False leaves the project out.")
    in_counterfactual: bool = Field(
        False,
        description="If true the project also exists in the no-reserve counterfactual, so the "
        "reserve-vs-counterfactual difference excludes its benefit.",
    )

    _c1 = field_validator("build_time_days", "delay_days", mode="before")(_dist)


class _ShockBase(Strict):
    description: str = Field("", description="What the shock represents.")
    enabled: bool = Field(True, description="False switches the shock off (handy in variants and sweeps).")
    start: Optional[DayOrDate] = Field(
        None, description="Scheduled start: day number or date. Exactly one of start and rate_per_year."
    )
    rate_per_year: Optional[float] = Field(
        None, gt=0, description="Stochastic: occurrences per year (Poisson; one at a time)."
    )
    first_day: int = Field(0, ge=0, description="Stochastic shocks cannot start before this day.")
    duration_days: Distribution = Field(description="How long each occurrence lasts, days.")
    severity: Distribution = Field(description="Size of the shock (meaning depends on kind).")

    _c = field_validator("duration_days", "severity", mode="before")(_dist)

    @model_validator(mode="after")
    def _one_timing(self) -> _ShockBase:
        if (self.start is None) == (self.rate_per_year is None):
            raise ValueError("give exactly one of 'start' (scheduled) or 'rate_per_year' (stochastic)")
        return self


class ExportRestriction(_ShockBase):
    """A country stops a share (severity, 0-1) of exports of listed commodities.

    Untargeted (``targets: []``), suppliers in that country lose ``severity`` of what they sell
    to every buyer and suppliers elsewhere lose ``severity x`` their origin-mix share from that
    country; every buyer outside the country competes for the rest at the world price.
    Targeted (``targets: [bloc]``), only the exports to the bloc stop: ``leakage_share`` of them
    still reaches the bloc through third countries and the rest goes to other buyers, whose
    usual supply the bloc can then buy (the market reroutes).
    """

    kind: Literal["export_restriction"]
    country: str = Field(description="Restricting country.")
    commodities: list[str] = Field(min_length=1, description="Commodity ids restricted.")
    targets: list[Literal["bloc"]] = Field(
        default_factory=list, description="[] = exports to all buyers are cut; [bloc] = only exports to the bloc."
    )
    leakage_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Targeted restrictions: share of the cut that still reaches the bloc via third countries.",
    )


class SupplierOutage(_ShockBase):
    """Listed suppliers lose a share (severity, 0-1) of output."""

    kind: Literal["supplier_outage"]
    suppliers: list[str] = Field(min_length=1, description="Supplier ids affected.")


class DemandSurge(_ShockBase):
    """Demand for listed commodities rises by a share (severity, e.g. 0.3 = +30%)."""

    kind: Literal["demand_surge"]
    commodities: list[str] = Field(min_length=1, description="Commodity ids affected.")


class LogisticsDelay(_ShockBase):
    """Shipments of listed commodities take ``severity`` extra days to arrive."""

    kind: Literal["logistics_delay"]
    commodities: list[str] = Field(min_length=1, description="Commodity ids affected.")


class RegimeCountry(Strict):
    """One restricting country of a ``restriction_regime`` shock: its cells and their onset rate."""

    commodities: list[str] = Field(
        min_length=1, description="Commodity ids this country may restrict; each is one on/off cell."
    )
    onset_rate_per_year: float = Field(
        ge=0,
        description="Rate at which each unrestricted cell becomes restricted, per year, averaged over the "
        "tension chain (the marginal rate; the hazard is this x the tension factor).",
    )


class RegimeTension(Strict):
    """The common country factor: each country has its own calm/tense Markov chain."""

    calm_to_tense_per_year: float = Field(
        gt=0, description="Rate of switching from calm to tense, per year (mean calm spell = 1 / rate years)."
    )
    tense_to_calm_per_year: float = Field(
        gt=0, description="Rate of switching from tense to calm, per year (mean tense spell = 1 / rate years)."
    )
    multiplier: float = Field(
        ge=1,
        description="Onset hazard when tense / when calm (dimensionless). Hazards are scaled so their "
        "long-run mean is onset_rate_per_year; 1 switches the factor off.",
    )


class RestrictionRegime(Strict):
    """Export restrictions as persistent regimes per country and commodity, clustered by country.

    Each (country, commodity) cell is restricted or not. A country restricts by moves, each
    covering one or more of its unrestricted cells (``package_breadth``), at a rate that
    rises in the country's tense spells (``tension``); on average each unrestricted cell
    becomes restricted at ``onset_rate_per_year``. Restrictions are lifted by lifts that may
    free several commodities at once (``lift_breadth``); each lasts an exponential time of
    mean ``mean_duration_days`` and its severity is redrawn at
    ``severity_change_rate_per_year`` while it lasts. Each stretch of constant severity acts
    like an ``export_restriction`` of that country and commodity. Fitted to history by
    ``scenarios/fit_restrictions.py``.
    """

    kind: Literal["restriction_regime"]
    description: str = Field("", description="What the shock represents and where its parameters come from.")
    enabled: bool = Field(True, description="False switches the shock off (handy in variants and sweeps).")
    countries: dict[str, RegimeCountry] = Field(
        min_length=1, description="Restricting country -> its cells and onset rate."
    )
    mean_duration_days: float = Field(gt=0, description="Mean length of a restriction episode, days (exponential).")
    severity: Distribution = Field(
        description="Share of the country's exports lost (0-1), drawn at every onset and every severity "
        "change; clipped to [0, 1]."
    )
    severity_change_rate_per_year: float = Field(
        0.0, ge=0, description="Rate at which a restricted cell's severity is redrawn, per year."
    )
    targeted_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Probability that a severity level is aimed at the bloc (a share): such a segment is a "
        "targeted export restriction (only exports to the bloc stop; see leakage_share).",
    )
    leakage_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Targeted segments: share of the cut that still reaches the bloc through third countries.",
    )
    package_breadth: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Share of a country's other unrestricted commodities that one move also restricts "
        "(each independently; a move restricts at least one). Moves come at a rate that keeps each cell's "
        "onset rate at onset_rate_per_year. 0 = one commodity per move (part of the common factor).",
    )
    lift_breadth: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Share of a country's other restricted commodities that one lift also frees (each "
        "independently; a lift frees at least one), at a rate that keeps each restriction's mean length at "
        "mean_duration_days. 0 = one commodity per lift (part of the common factor).",
    )
    tension: Optional[RegimeTension] = Field(
        None, description="The common country factor's calm/tense chain; null = no tension (with "
        "both breadths 0: independent cells)."
    )
    initial: Literal["stationary", "off"] = Field(
        "stationary",
        description="'stationary': day 0 is drawn from the long-run state, so cells may be restricted "
        "from day 0; 'off': every cell starts unrestricted.",
    )

    _c = field_validator("severity", mode="before")(_dist)


Shock = Annotated[
    Union[ExportRestriction, SupplierOutage, DemandSurge, LogisticsDelay, RestrictionRegime],
    Field(discriminator="kind"),
]


class Manufacturer(Strict):
    """A consumer (or group of consumers) of commodities in the bloc."""

    sector: str = Field("", description="Sector label, e.g. 'automotive'.")
    demand_tpy: dict[str, float] = Field(description="Commodity id -> demand in t/yr at day 0.")
    growth_per_year: float = Field(0.0, gt=-1, description="Demand growth, share per year (compound).")
    growth_by_commodity: dict[str, float] = Field(
        default_factory=dict,
        description="Commodity id -> demand growth per year, overriding growth_per_year for that commodity.",
    )
    loss_multiplier: float = Field(
        1.0,
        ge=0,
        description="Scales each commodity's value_of_lost_output_usd_per_t for this manufacturer (e.g. 2 for a "
        "sector whose output per tonne is worth twice the average), so who gets released material matters.",
    )
    critical_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of demand that cannot fall at any price (e.g. defence): served first when rationed, "
        "and the only demand valued at the value of lost output.",
    )
    critical_share_by_commodity: dict[str, float] = Field(
        default_factory=dict, description="Commodity id -> critical share, overriding critical_share."
    )
    demand_cv: float = Field(0.0, ge=0, le=1, description="Daily demand noise, coefficient of variation.")
    safety_stock_days: float = Field(30.0, ge=0, description="Own stock held, days of own demand.")
    restock_days: float = Field(
        30.0,
        gt=0,
        description="Days over which orders close the gap between target and actual stock plus pipeline "
        "(stock-management ordering, Sterman 2000, Business Dynamics, ch. 17): order = desired use + gap / "
        "restock_days. Shorter is more aggressive buying when supply tightens.",
    )
    priority: int = Field(1, ge=1, description="Priority class; 1 is served first when supply is short.")
    member: bool = Field(False, description="Member of the reserve (served first by releases).")

    @field_validator("growth_by_commodity")
    @classmethod
    def _growth(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if x <= -1}
        if bad:
            raise ValueError(f"growth must be > -1, got {bad}")
        return v

    @field_validator("critical_share_by_commodity")
    @classmethod
    def _share(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not 0 <= x <= 1}
        if bad:
            raise ValueError(f"critical shares must be in [0, 1], got {bad}")
        return v

    @field_validator("demand_tpy")
    @classmethod
    def _nonneg(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if x < 0}
        if bad:
            raise ValueError(f"demand must be >= 0, got {bad}")
        return v


class BuyPolicy(Strict):
    """When and how fast the reserve buys."""

    max_rate_tpy: float = Field(0.0, ge=0, description="Maximum purchase rate, t/yr.")
    price_ceiling_ratio: float = Field(
        1.1, gt=0, description="Buys only when price <= this multiple of the reference price."
    )
    mode: Literal["spare", "compete"] = Field(
        "spare",
        description="Its order is demand in the world market in both modes (it raises the price). 'spare': "
        "served after every other buyer when supply is short; 'compete': served pro rata with them.",
    )
    review_interval_days: int = Field(30, ge=1, description="Days between reviews that set the buying rate.")


class ReleasePolicy(Strict):
    """When and how the reserve releases stock to manufacturers."""

    trigger: Literal["shortfall", "price", "cover"] = Field(
        "shortfall",
        description="'shortfall': release only to cover consumption manufacturers cannot meet "
        "(late); 'price': also when price >= trigger_price_ratio x reference; 'cover': also when "
        "manufacturers' stock falls below trigger_cover_days (early). Early triggers also "
        "refill manufacturers' safety stock.",
    )
    trigger_price_ratio: float = Field(1.5, gt=0, description="Price multiple that triggers 'price' releases.")
    trigger_cover_days: float = Field(15.0, ge=0, description="Manufacturer cover that triggers 'cover' releases.")
    max_rate_tpy: Optional[float] = Field(
        None, ge=0, description="Drawdown capacity, t/yr (null = the target divided by drawdown_days, per day)."
    )
    drawdown_days: Optional[float] = Field(
        90.0,
        gt=0,
        description="When max_rate_tpy is null: days to release the whole target at full drawdown capacity "
        "(null with max_rate_tpy null = uncapped, for analytic tests).",
    )
    delivery_lag_days: int = Field(
        14, ge=0, le=365, description="Days from the release decision to delivery to manufacturers."
    )
    offset_share: float = Field(1.0, ge=0, le=1, description="Share of the gap the reserve offsets.")
    allocation: Literal["members_first", "members_only", "pro_rata"] = Field(
        "members_first", description="Who receives releases first."
    )
    price_ratio: Optional[float] = Field(
        None, ge=0, description="Release price as a multiple of the reference price (null = market price)."
    )
    floor_share: float = Field(
        0.1, ge=0, le=1, description="Share of target never released (IEA treats 10% as unusable)."
    )


class ReserveCommodity(Strict):
    """The reserve's holding of one commodity."""

    initial_stock_t: float = Field(0.0, ge=0, description="Stock at day 0, t.")
    target_t: Optional[float] = Field(None, ge=0, description="Target stock, t (or give target_days).")
    target_days: Optional[float] = Field(
        None, ge=0, description="Target stock in days of bloc demand at review time (or give target_t)."
    )
    capacity_t: Optional[float] = Field(None, gt=0, description="Storage capacity, t (null = unlimited).")
    buy: BuyPolicy = Field(default_factory=BuyPolicy, description="Acquisition policy.")
    release: ReleasePolicy = Field(default_factory=ReleasePolicy, description="Release policy.")
    holding_cost_share_per_year: float = Field(
        0.02, ge=0, description="Storage cost as share of stock value at reference price per year."
    )
    holding_cost_usd_per_t_day: float = Field(0.0, ge=0, description="Storage cost per tonne per day, USD.")

    @model_validator(mode="after")
    def _one_target(self) -> ReserveCommodity:
        if (self.target_t is None) == (self.target_days is None):
            raise ValueError("give exactly one of 'target_t' or 'target_days'")
        return self


class Facility(Strict):
    """A loan facility."""

    lender: str = Field(description="Lender name, e.g. 'EXIM'.")
    purpose: Literal["reserve", "projects", "any"] = Field(
        "any",
        description="What its draws may fund. 'projects': lent to project companies on these terms "
        "(each project borrows and repays on its own); the programme never draws on it.",
    )
    federal_credit: bool = Field(
        True,
        description="A loan by a federal agency (EXIM, DFC): counted in the federal budget view "
        "(FCRA subsidy cost). False for a private lender.",
    )
    commitment_usd: float = Field(ge=0, description="Maximum that may be drawn, USD.")
    close_day: int = Field(0, ge=0, description="Day of financial close (tenor counts from here).")
    availability_years: float = Field(3.0, ge=0, description="Years after close during which draws are allowed.")
    drawdown: Literal["on_demand", "at_close"] = Field(
        "on_demand", description="'at_close' draws the whole commitment into cash at close."
    )
    interest_rate: float = Field(ge=0, lt=1, description="Annual interest rate (simple daily accrual, Actual/365).")
    tenor_years: float = Field(gt=0, description="Years from close to final maturity.")
    grace_years: float = Field(0.0, ge=0, description="Interest-only years before principal repayments start.")
    payments_per_year: Literal[1, 2, 4, 12] = Field(2, description="Payment frequency.")
    repayment: Literal["level", "linear", "bullet"] = Field(
        "level", description="'level' annuity, 'linear' equal principal, 'bullet' all at maturity."
    )
    upfront_fee_share: float = Field(0.0, ge=0, lt=1, description="Fee at close, share of commitment.")
    commitment_fee_share: float = Field(
        0.0, ge=0, lt=1, description="Yearly fee on the undrawn commitment during availability."
    )

    @model_validator(mode="after")
    def _grace(self) -> Facility:
        if self.grace_years >= self.tenor_years:
            raise ValueError("grace_years must be shorter than tenor_years")
        return self


class MemberFees(Strict):
    """What reserve members pay."""

    upfront_usd: float = Field(0.0, ge=0, description="Paid once per member at day 0, USD.")
    annual_usd: float = Field(0.0, ge=0, description="Paid per member each year, USD.")
    carrying_charge_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the past year's interest, fees and storage cost recharged to members each year.",
    )


class Financing(Strict):
    """How the reserve and projects are paid for."""

    facilities: dict[str, Facility] = Field(default_factory=dict, description="Loan facilities by id.")
    equity_usd: float = Field(0.0, ge=0, description="Cash injected at day 0, USD.")
    loan_share_of_spend: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of each reserve or project payment drawn from loans even when cash is "
        "available (the capital structure; 0 = spend cash first, draw only when cash runs out).",
    )
    member_fees: MemberFees = Field(default_factory=MemberFees, description="Member fees.")
    procurement_fee_share: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Fee paid to the procurement traders on each purchase, share of its value "
        "(a resource cost in the economic view).",
    )


# ------------------------------------------------------------------ parties
# Project Vault's terms are not public (NEWS26, secondary), so every term is a parameter and a
# scenario states each value it uses as an assumption. ``parties`` is optional: without it the
# reserve is a seller and membership a release-priority flag plus fees.


def _shares(v: dict[str, float]) -> dict[str, float]:
    bad = {k: x for k, x in v.items() if not 0 <= x <= 1}
    if bad:
        raise ValueError(f"shares must be in [0, 1], got {bad}")
    return v


def _tonnes(v: dict[str, float]) -> dict[str, float]:
    bad = {k: x for k, x in v.items() if x < 0}
    if bad:
        raise ValueError(f"tonnes must be >= 0, got {bad}")
    return v


class Holding(Strict):
    """Claims on the reserve's stock, per commodity: in tonnes or as a share of its target."""

    entitlements_t: dict[str, float] = Field(
        default_factory=dict, description="Commodity id -> tonnes this party may draw (fixed quantities)."
    )
    entitlement_shares: dict[str, float] = Field(
        default_factory=dict,
        description="Commodity id -> share of the reserve's target stock this party may draw; the tonnes "
        "follow the target when it is set in days of demand.",
    )

    _t = field_validator("entitlements_t")(_tonnes)
    _s = field_validator("entitlement_shares")(_shares)

    @model_validator(mode="after")
    def _one_unit(self) -> Holding:
        both = sorted(set(self.entitlements_t) & set(self.entitlement_shares))
        if both:
            raise ValueError(f"give each commodity in entitlements_t or entitlement_shares, not both: {both}")
        return self


class Member(Holding):
    """A member of the reserve: a manufacturer or a named group of them, with entitlements."""

    description: str = Field("", description="Who the member is, e.g. 'GM and Stellantis'.")
    manufacturers: list[str] = Field(
        min_length=1,
        description="Manufacturer ids the member consists of (each with member: true). Its entitlements are "
        "split among them in proportion to their day-0 demand; draws go to them.",
    )
    upfront_fee_usd: Optional[float] = Field(
        None, ge=0, description="Upfront fee at day 0, USD (null = parties.fees.upfront_usd)."
    )


class Ally(Holding):
    """An allied government holding a stake in a jointly bought stock (e.g. copper for allies)."""

    description: str = Field("", description="Who the ally is.")
    rest_of_world_share: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of the rest of the world's unmet demand the ally's draws serve: its draws go to "
        "rest-of-world demand in the world market, up to its stake.",
    )


class MajorDisruption(Strict):
    """When the stock opens beyond entitlements ('full access in a major disruption', NEWS26)."""

    price_ratio: Optional[float] = Field(
        None, gt=0, description="Declared while the price is at least this multiple of reference (null = no test)."
    )
    supply_loss_share: Optional[float] = Field(
        None,
        gt=0,
        le=1,
        description="Declared while active shocks cut at least this share of the bloc's normal supply of the "
        "commodity (null = no test). Both null: never declared.",
    )


class DrawTerms(Strict):
    """Draw-and-replenish terms, the same for every member."""

    mode: Literal["sale", "swap"] = Field(
        "swap",
        description="'swap': a member takes tonnes now and returns the same tonnes plus premium_share within "
        "return_days (the oil-reserve exchange model; NEWS26: 'may draw if they replenish'); 'sale': a member "
        "buys the tonnes at the locked price and the vehicle buys back in the market.",
    )
    locked_price_ratio: float = Field(
        1.0, ge=0, description="Locked price of sale draws, multiple of the reference price."
    )
    return_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="Swaps: days from the draw to the due date. A member returns what it holds on that day; "
        "what it cannot return it pays in cash at the market price, and the vehicle buys back.",
    )
    premium_share: float = Field(
        0.0, ge=0, le=1, description="Swaps: extra tonnes returned, share of the tonnes drawn."
    )
    major_disruption: MajorDisruption = Field(
        default_factory=MajorDisruption,
        description="Threshold that opens the stock beyond entitlements, pro rata to entitlements.",
    )
    non_member_sales: Literal["none", "free_stock"] = Field(
        "free_stock",
        description="What the vehicle sells to non-members (at the market price) when its trigger holds: "
        "'none', or 'free_stock': what stays above the undrawn entitlements and the floor.",
    )


class PartyFees(Strict):
    """What members pay and what procurement costs; null values come from financing.member_fees."""

    upfront_usd: Optional[float] = Field(
        None, ge=0, description="Upfront fee per member at day 0, USD (null = financing.member_fees.upfront_usd)."
    )
    upfront_share_of_locked_value: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Upfront fee as a share of the locked value of the member's entitlements (tonnes x "
        "locked price at day 0), added to upfront_usd.",
    )
    annual_usd: Optional[float] = Field(
        None, ge=0, description="Yearly fee per member, USD (null = financing.member_fees.annual_usd)."
    )
    carrying_charge_share: Optional[float] = Field(
        None,
        ge=0,
        le=1,
        description="Share of the vehicle's past-year interest, loan fees, storage and procurement fees (net "
        "of allies' shares) recharged to members each year, split by the reference value of their "
        "entitlements (null = financing.member_fees.carrying_charge_share).",
    )
    procurement_fee_share: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Traders' fee for buying for the reserve, share of the purchase value (a cost line of "
        "the vehicle, 'procurement_fees_usd').",
    )


class Parties(Strict):
    """Who owns and uses the reserve: the vehicle, its members and allied governments."""

    vehicle: str = Field("vehicle", description="Name of the vehicle that holds the stock, shown in tables.")
    members: dict[str, Member] = Field(min_length=1, description="Members by id.")
    allies: dict[str, Ally] = Field(default_factory=dict, description="Allied governments with stakes, by id.")
    draws: DrawTerms = Field(default_factory=DrawTerms, description="Draw-and-replenish terms.")
    fees: PartyFees = Field(default_factory=PartyFees, description="Fees, carrying charges, procurement fees.")
    crowding_out_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Members cut their own safety stock by this share of their entitlement (t), never below "
        "zero, from day 0 in the reserve arm; the counterfactual keeps pre-Vault stocks.",
    )
    own_stock_cost_share_per_year: float = Field(
        0.0,
        ge=0,
        description="Members' cost of holding their own stock, share of its reference value per year; values "
        "the stock that crowding out moves off their balance sheets (0 = not valued).",
    )


class PublicStock(Strict):
    """Another public stock (e.g. the National Defense Stockpile), present in both arms."""

    description: str = Field("", description="What the stock is.")
    serves: list[str] = Field(min_length=1, description="Manufacturer ids it releases to (e.g. defence users).")
    stocks_t: dict[str, float] = Field(description="Commodity id -> stock at day 0, t.")
    drawdown_days: float = Field(
        90.0, gt=0, description="Days to release the whole day-0 stock at full drawdown capacity."
    )
    delivery_lag_days: int = Field(14, ge=0, le=365, description="Days from the release decision to delivery.")

    _t = field_validator("stocks_t")(_tonnes)


class Bloc(Strict):
    """The importing economy the reserve protects."""

    country: str = Field(
        "United States",
        description="Its suppliers (this country) are domestic: what the bloc pays them is a transfer inside "
        "the bloc, not an import.",
    )


#: Most manufacturers plus allies a scenario may have (``sim.kernels.party_kernels.NUMPY_SUM_MAX``).
MAX_HOLDERS = 128


class Scenario(Strict):
    """A complete scenario."""

    meta: Meta = Field(default_factory=Meta)
    run: Run = Field(default_factory=Run)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    bloc: Bloc = Field(default_factory=Bloc)
    commodities: dict[str, Commodity] = Field(min_length=1, description="Commodities by id.")
    suppliers: dict[str, Supplier] = Field(description="Suppliers by id.")
    projects: dict[str, Project] = Field(default_factory=dict, description="Loan-financed projects by id.")
    shocks: dict[str, Shock] = Field(default_factory=dict, description="Shocks by id.")
    manufacturers: dict[str, Manufacturer] = Field(description="Manufacturers by id.")
    reserve: dict[str, ReserveCommodity] = Field(default_factory=dict, description="Reserve holdings by commodity id.")
    financing: Financing = Field(default_factory=Financing)
    parties: Optional[Parties] = Field(
        None, description="Members, allies and draw terms of the reserve (null = membership flags and sales only)."
    )
    public_stocks: dict[str, PublicStock] = Field(
        default_factory=dict,
        description="Other public stocks by id (e.g. the National Defense Stockpile), present in both arms.",
    )

    @model_validator(mode="after")
    def _holders_within_limit(self) -> Scenario:
        holders = len(self.manufacturers) + (len(self.parties.allies) if self.parties else 0)
        if holders > MAX_HOLDERS:
            raise ValueError(f"{holders} manufacturers and allies; at most {MAX_HOLDERS} (the compiled day adds "
                             "their tonnes in numpy's order, which it follows up to that many)")
        return self

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A validated copy with values changed by key path; no file is read.

        Args:
            changes: ``{key.path: value}``, e.g. ``{"reserve.gallium.target_days": 90,
                "shocks.*.rate_per_year": 0.4}``. Paths take ``*`` and ``{a,b}`` wildcards,
                values are Python (or numpy) values, checked exactly like ``--set``.

        Returns:
            The changed scenario (this one is unchanged).

        Raises:
            ScenarioError: unknown keys (with the closest valid one) or invalid values.

        """
        return derive(self, changes)

    def day_of(self, when: DayOrDate) -> int:
        """Day number of a day-or-date value."""
        if isinstance(when, dt.date):
            return (when - self.run.start_date).days
        return int(when)
