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
    """How outcomes are valued in KPIs."""

    discount_rate_per_year: float = Field(
        0.03, ge=0, lt=1, description="Real discount rate for NPV KPIs (share per year)."
    )


class Commodity(Strict):
    """One material and how its bloc market behaves."""

    name: str = Field("", description="Display name, e.g. 'Gallium (Ga metal)'.")
    reference_price_usd_per_t: float = Field(gt=0, description="Undisturbed price, USD/t.")
    price_elasticity: float = Field(
        0.3,
        gt=0,
        description="Short-run price elasticity of demand (magnitude). Target price / reference = "
        "min(price_cap_ratio, max(1, demand / (available supply + releases)) ^ (1 / elasticity)).",
    )
    price_adjust_per_day: float = Field(
        0.1, gt=0, le=1, description="Share of the gap to the target price closed each day."
    )
    price_cap_ratio: float = Field(10.0, ge=1, description="Price never exceeds this multiple of reference.")
    loss_usd_per_t_short: float = Field(
        ge=0, description="Economic loss per tonne that manufacturers needed and could not get, USD/t."
    )


class Supplier(Strict):
    """A source of the bloc's supply of one commodity from one country."""

    commodity: str = Field(description="Commodity id.")
    country: str = Field(description="Country the material is exported from.")
    capacity_tpy: float = Field(ge=0, description="Volume available to the bloc at day 0, t/yr.")
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
    """New capacity financed by a loan; becomes a supplier when it completes."""

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
        0.0, ge=0, le=1, description="Chance the project never produces (capex is still spent)."
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

    Suppliers in that country lose ``severity`` of output; suppliers elsewhere lose
    ``severity x`` their origin-mix share from that country.
    """

    kind: Literal["export_restriction"]
    country: str = Field(description="Restricting country.")
    commodities: list[str] = Field(min_length=1, description="Commodity ids restricted.")


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


Shock = Annotated[
    Union[ExportRestriction, SupplierOutage, DemandSurge, LogisticsDelay],
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
        description="Scales each commodity's loss_usd_per_t_short for this manufacturer (e.g. 2 for a "
        "sector whose output per tonne is worth twice the average), so who gets released material matters.",
    )
    demand_cv: float = Field(0.0, ge=0, le=1, description="Daily demand noise, coefficient of variation.")
    safety_stock_days: float = Field(30.0, ge=0, description="Own stock held, days of own demand.")
    priority: int = Field(1, ge=1, description="Priority class; 1 is served first when supply is short.")
    member: bool = Field(False, description="Member of the reserve (served first by releases).")

    @field_validator("growth_by_commodity")
    @classmethod
    def _growth(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if x <= -1}
        if bad:
            raise ValueError(f"growth must be > -1, got {bad}")
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
        description="'spare': buys only supply left after manufacturers' orders; "
        "'compete': its order is served pro rata with manufacturers'.",
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
    max_rate_tpy: Optional[float] = Field(None, ge=0, description="Maximum release rate, t/yr (null = uncapped).")
    offset_share: float = Field(1.0, ge=0, le=1, description="Share of the gap the reserve offsets.")
    allocation: Literal["members_first", "members_only", "pro_rata"] = Field(
        "members_first", description="Who receives releases first."
    )
    price_ratio: Optional[float] = Field(
        1.0, ge=0, description="Release price as a multiple of the reference price (null = market price)."
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
    purpose: Literal["reserve", "projects", "any"] = Field("any", description="What its draws may fund.")
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


class Scenario(Strict):
    """A complete scenario."""

    meta: Meta = Field(default_factory=Meta)
    run: Run = Field(default_factory=Run)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    commodities: dict[str, Commodity] = Field(min_length=1, description="Commodities by id.")
    suppliers: dict[str, Supplier] = Field(description="Suppliers by id.")
    projects: dict[str, Project] = Field(default_factory=dict, description="Loan-financed projects by id.")
    shocks: dict[str, Shock] = Field(default_factory=dict, description="Shocks by id.")
    manufacturers: dict[str, Manufacturer] = Field(description="Manufacturers by id.")
    reserve: dict[str, ReserveCommodity] = Field(default_factory=dict, description="Reserve holdings by commodity id.")
    financing: Financing = Field(default_factory=Financing)

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
        from sim.scenario.loader import derive

        return derive(self, changes)

    def day_of(self, when: DayOrDate) -> int:
        """Day number of a day-or-date value."""
        if isinstance(when, dt.date):
            return (when - self.run.start_date).days
        return int(when)
