"""ASHRAE Guideline 14 statistics of a baseline, and the uncertainty of the savings it measures.

Definitions (ASHRAE Guideline 14-2014, *Measurement of Energy, Demand, and Water Savings*,
clause 5.2.11 and Annex B; the savings uncertainty after Reddy and Claridge, "Uncertainty of
'measured' energy savings from statistical baseline models", HVAC&R Research 6(1), 2000, 3-20,
as compared in Koran et al., "A comparison of approaches to estimating the time-aggregated
uncertainty of savings estimated from meter data", IEPEC 2017), for ``n`` reference intervals
with observations ``y``, baseline values ``ŷ``, mean ``ȳ`` and ``p`` fitted parameters:

- CV(RMSE) = sqrt(Σ(y - ŷ)² / (n - p)) / ȳ
- NMBE = Σ(y - ŷ) / ((n - p) ȳ)
- R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)²

A baseline passes when CV(RMSE) and |NMBE| are within Guideline 14's thresholds: 15 % and 5 %
for monthly data, 30 % and 10 % for hourly data. Daily data, finer than monthly, are held to the
hourly set: their interval noise is of the hourly kind, and what a daily baseline's total is worth
is said by the savings uncertainty, not by the interval CV.

The savings uncertainty of a reporting period of ``m`` intervals, with saving ``E_save`` and
baseline (counterfactual) energy ``E_base``, is Reddy and Claridge's

    ΔE_save = 1.26 · t · RMSE · sqrt(m · (n / n') · (1 + 2 / n'))

with ``RMSE = CV(RMSE) · ȳ``, ``n' = n (1 - rho) / (1 + rho)`` the effective number of reference
intervals, ``rho`` the lag-1 autocorrelation of the reference residuals (``n' = n`` when
``rho <= 0``) and ``t`` Student's two-sided quantile at the confidence level with ``n' - p``
degrees of freedom. The fractional savings uncertainty (FSU) is ``ΔE_save / |E_save|``.

Guideline 14 prints the same formula in fractional form, ``ΔE_save / E_save = 1.26 · t · CV(RMSE) /
F · sqrt((n / n') (1 + 2 / n') / m)`` with ``F = E_save / E_base``, which is the form above when
``E_base = m · ȳ``: when the reporting period uses what the reference period used per interval.
For a reporting window whose use differs from the reference mean (a summer month of a cooling
meter, a winter month of a heating one) the fractional form scales the interval by the window's
use, as if the baseline's errors grew in proportion to use, while its residuals, from which the
RMSE is measured, have one variance. valueloop uses the absolute form: on opendsm's sample meters
the fractional form's intervals held too few of the injected savings of low-use months
(``bench/mv.py``). Guideline 14 derived the empirical factor 1.26 on monthly models; valueloop keeps
it at every resolution, as opendsm's CalTRACK hourly model does, since no published factor for
daily or hourly data replaces it. ``ΔE_save`` does not depend on the saving, so it is reported
even when the saving is nil (when the FSU is infinite).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from valueloop.errors import ModelError

Vector = npt.NDArray[np.float64]
Resolution = Literal["hourly", "daily", "monthly"]

FSU_FACTOR = 1.26
"""Guideline 14's empirical factor on the savings uncertainty (Annex B)."""
CONFIDENCE_LEVELS = (0.68, 0.90)
"""Confidence levels of the reported savings uncertainty."""


@dataclass(frozen=True)
class G14Thresholds:
    """The largest CV(RMSE) and |NMBE| a baseline may have, as fractions (0.15 = 15 %)."""

    cv_rmse: float
    nmbe: float


THRESHOLDS: dict[Resolution, G14Thresholds] = {
    "monthly": G14Thresholds(cv_rmse=0.15, nmbe=0.05),
    "daily": G14Thresholds(cv_rmse=0.30, nmbe=0.10),
    "hourly": G14Thresholds(cv_rmse=0.30, nmbe=0.10),
}


def resolution_of(ts: npt.NDArray[np.datetime64]) -> Resolution:
    """``hourly``, ``daily`` or ``monthly`` from the median spacing of ``ts`` (sorted)."""
    if len(ts) < 2:
        raise ModelError("at least two intervals are needed to tell the data's resolution")
    spacing = float(np.median(np.diff(ts).astype("timedelta64[s]").astype(np.float64)))
    if spacing <= 2 * 3600:
        return "hourly"
    if spacing <= 2 * 86400:
        return "daily"
    return "monthly"


@dataclass(frozen=True)
class BaselineStatistics:
    """Guideline 14 statistics of a baseline on its reference period.

    Attributes:
        resolution: the data's interval, which picks the thresholds.
        rows: ``n``, reference intervals the baseline was fitted on.
        parameters: ``p``, parameters fitted (0 when the residuals are out-of-sample).
        mean: ``ȳ``, mean observed value per interval, in the target's unit.
        cv_rmse: CV(RMSE), a fraction.
        nmbe: NMBE, a fraction (positive: the baseline reads low).
        r_squared: R² of the reference period.
        autocorrelation: ``rho``, lag-1 autocorrelation of the residuals.
        effective_rows: ``n'``, the rows worth of independent information.
        thresholds: the Guideline 14 thresholds for ``resolution``.
    """

    resolution: Resolution
    rows: int
    parameters: int
    mean: float
    cv_rmse: float
    nmbe: float
    r_squared: float
    autocorrelation: float
    effective_rows: float
    thresholds: G14Thresholds

    @property
    def passes_cv_rmse(self) -> bool:
        """Whether CV(RMSE) is within the threshold."""
        return self.cv_rmse <= self.thresholds.cv_rmse

    @property
    def passes_nmbe(self) -> bool:
        """Whether |NMBE| is within the threshold."""
        return abs(self.nmbe) <= self.thresholds.nmbe

    @property
    def passes(self) -> bool:
        """Whether the baseline meets Guideline 14 on both CV(RMSE) and NMBE."""
        return self.passes_cv_rmse and self.passes_nmbe

    def as_dict(self) -> dict[str, Any]:
        """The statistics and the verdicts as plain values, for a ledger entry or a statement."""
        return {
            **asdict(self),
            "passes_cv_rmse": self.passes_cv_rmse,
            "passes_nmbe": self.passes_nmbe,
            "passes": self.passes,
        }


def lag1_autocorrelation(residuals: Vector) -> float:
    """Lag-1 autocorrelation of ``residuals`` (in time order); 0.0 for fewer than three."""
    if len(residuals) < 3:
        return 0.0
    centred = residuals - residuals.mean()
    denominator = float(centred @ centred)
    if denominator == 0.0:
        return 0.0
    return float(centred[1:] @ centred[:-1]) / denominator


def effective_rows(rows: int, autocorrelation: float) -> float:
    """``n' = n (1 - rho) / (1 + rho)``, ``n`` when ``rho <= 0`` (no credit for anticorrelation)."""
    rho = min(max(autocorrelation, 0.0), 0.999)
    return rows * (1.0 - rho) / (1.0 + rho)


def g14_statistics(
    observed: Vector,
    fitted: Vector,
    *,
    parameters: int,
    resolution: Resolution,
) -> BaselineStatistics:
    """The statistics of ``fitted`` against ``observed`` (reference rows, in time order)."""
    n = len(observed)
    if n != len(fitted):
        raise ModelError(f"{n} observations for {len(fitted)} baseline values")
    if n - parameters < 1:
        raise ModelError(f"{n} reference intervals cannot support {parameters} parameters")
    mean = float(observed.mean())
    if mean == 0.0:
        raise ModelError("the reference period's mean is zero: CV(RMSE) and NMBE are undefined")
    residuals = observed - fitted
    sse = float(residuals @ residuals)
    sst = float(((observed - mean) ** 2).sum())
    rho = lag1_autocorrelation(residuals)
    return BaselineStatistics(
        resolution=resolution,
        rows=n,
        parameters=parameters,
        mean=mean,
        cv_rmse=math.sqrt(sse / (n - parameters)) / mean,
        nmbe=float(residuals.sum()) / ((n - parameters) * mean),
        r_squared=1.0 - sse / sst if sst > 0 else 0.0,
        autocorrelation=rho,
        effective_rows=effective_rows(n, rho),
        thresholds=THRESHOLDS[resolution],
    )


def t_quantile(confidence: float, degrees_of_freedom: float) -> float:
    """Student's two-sided quantile: ``P(|T| <= t) = confidence``."""
    from scipy.stats import t as student

    if not 0.0 < confidence < 1.0:
        raise ModelError(f"confidence must be in (0, 1), got {confidence}")
    return float(student.ppf((1.0 + confidence) / 2.0, max(degrees_of_freedom, 1.0)))


@dataclass(frozen=True)
class Savings:
    """A reporting period's saving against the baseline, with its Guideline 14 uncertainty.

    Attributes:
        rows: ``m``, reporting intervals with both a counterfactual and an observation.
        missing: reporting intervals left out (no observation or no counterfactual).
        counterfactual: ``E_base``, what the baseline says would have been used, target's unit.
        observed: what was used, same unit.
        saving: ``E_save = counterfactual - observed`` (positive: less was used).
        fraction: ``F = saving / counterfactual``.
        uncertainty: ``ΔE_save`` at each confidence level (0.68, 0.90), target's unit.
        fsu: ``ΔE_save / |E_save|`` at each confidence level (``inf`` when the saving is nil).
    """

    rows: int
    missing: int
    counterfactual: float
    observed: float
    saving: float
    fraction: float
    uncertainty: dict[float, float]
    fsu: dict[float, float]


def savings_uncertainty(statistics: BaselineStatistics, reporting_rows: int) -> float:
    """``ΔE_save / t`` of ``reporting_rows`` reporting intervals: the savings' standard uncertainty
    before the t factor, ``1.26 · RMSE · sqrt(m (n / n') (1 + 2 / n'))``, in the target's unit."""
    if reporting_rows < 1:
        raise ModelError("the reporting period has no interval with an observation")
    n, n_eff = statistics.rows, statistics.effective_rows
    rmse = statistics.cv_rmse * abs(statistics.mean)
    return FSU_FACTOR * rmse * math.sqrt(reporting_rows * (n / n_eff) * (1.0 + 2.0 / n_eff))


def savings(
    statistics: BaselineStatistics,
    counterfactual: Vector,
    observed: Vector,
    *,
    confidence_levels: tuple[float, ...] = CONFIDENCE_LEVELS,
) -> Savings:
    """The saving of a reporting period and its uncertainty at ``confidence_levels``.

    Intervals where either the counterfactual or the observation is missing are left out and
    counted in :attr:`Savings.missing`.
    """
    both = np.isfinite(counterfactual) & np.isfinite(observed)
    m = int(both.sum())
    base = float(counterfactual[both].sum())
    used = float(observed[both].sum())
    saving = base - used
    standard = savings_uncertainty(statistics, m)
    df = statistics.effective_rows - statistics.parameters
    uncertainty = {c: t_quantile(c, df) * standard for c in confidence_levels}
    fsu = {c: u / abs(saving) if saving else math.inf for c, u in uncertainty.items()}
    return Savings(
        rows=m,
        missing=len(both) - m,
        counterfactual=base,
        observed=used,
        saving=saving,
        fraction=saving / base if base else math.nan,
        uncertainty=uncertainty,
        fsu=fsu,
    )
