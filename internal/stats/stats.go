// Package stats holds the statistics behind experiment reports and the
// winner rule: intervals for a rate (Wilson's score interval) and for a
// difference of two rates (Newcombe's hybrid score interval), both of
// which stay inside their bounds and keep their coverage at a handful
// of recipients; normal-approximation intervals for revenue per
// recipient and its differences; and a mixture
// sequential probability ratio test (mSPRT) whose p-value stays valid
// however often it is looked at.
//
// Why mSPRT: marketers read the report every day. A fixed-horizon z-test
// checked daily and stopped at the first p < 0.05 declares a winner in
// roughly a quarter of A/A tests over a month; the always-valid p-value
// of Johari, Pekelis and Walsh ("Always Valid Inference", 2017) keeps the
// false-positive rate at or under alpha for any number of looks. The A/A
// simulation in stats_test.go measures both.
package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Sample summarises one arm's per-recipient outcomes: N recipients, Sum
// of outcomes and SumSq of squared outcomes. For a conversion rate the
// outcome is 0 or 1 (Sum = SumSq = conversions); for revenue per
// recipient it is the revenue.
type Sample struct {
	N     float64
	Sum   float64
	SumSq float64
	// Rate marks 0/1 outcomes (Bernoulli): its intervals are score
	// intervals, inside [0, 1].
	Rate bool
}

// Bernoulli is a sample of n recipients of whom x converted.
func Bernoulli(x, n int64) Sample {
	return Sample{N: float64(n), Sum: float64(x), SumSq: float64(x), Rate: true}
}

// Mean is the per-recipient mean (0 with no recipients).
func (s Sample) Mean() float64 {
	if s.N == 0 {
		return 0
	}
	return s.Sum / s.N
}

// Variance is the per-recipient variance (the maximum-likelihood
// estimate, which for 0/1 outcomes is p(1-p)).
func (s Sample) Variance() float64 {
	if s.N == 0 {
		return 0
	}
	m := s.Mean()
	return math.Max(0, s.SumSq/s.N-m*m)
}

// Interval is an estimate with its confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// Z95 is the two-sided 95 % normal quantile, 1.959964.
var Z95 = distuv.UnitNormal.Quantile(0.975)

// MeanInterval is the 95 % interval of one arm's mean: Wilson's score
// interval for a rate (one conversion in three is 6 % – 79 %, where the
// normal approximation says −20 % – 87 %), the normal interval for
// revenue.
func MeanInterval(s Sample) Interval {
	m := s.Mean()
	if s.N == 0 {
		return Interval{}
	}
	if s.Rate {
		low, high := wilson(s.Sum, s.N)
		return Interval{Estimate: m, Low: low, High: high}
	}
	se := math.Sqrt(s.Variance() / s.N)
	return Interval{Estimate: m, Low: m - Z95*se, High: m + Z95*se}
}

// DiffInterval is mean(b) - mean(a) with its 95 % interval: Newcombe's
// hybrid score interval for two rates (inside [−1, 1], with close to its
// nominal coverage at small samples, where the Wald interval's falls
// apart), Welch's normal approximation for revenue.
func DiffInterval(b, a Sample) Interval {
	d := b.Mean() - a.Mean()
	if b.Rate && a.Rate && b.N > 0 && a.N > 0 {
		pb, pa := b.Mean(), a.Mean()
		lb, ub := wilson(b.Sum, b.N)
		la, ua := wilson(a.Sum, a.N)
		return Interval{Estimate: d,
			Low:  d - math.Sqrt((pb-lb)*(pb-lb)+(ua-pa)*(ua-pa)),
			High: d + math.Sqrt((ub-pb)*(ub-pb)+(pa-la)*(pa-la))}
	}
	se := math.Sqrt(diffVariance(b, a))
	return Interval{Estimate: d, Low: d - Z95*se, High: d + Z95*se}
}

// wilson is the 95 % Wilson score interval of x successes in n trials.
func wilson(x, n float64) (low, high float64) {
	p, z2 := x/n, Z95*Z95
	centre := (p + z2/(2*n)) / (1 + z2/n)
	half := Z95 / (1 + z2/n) * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

func diffVariance(b, a Sample) float64 {
	if a.N == 0 || b.N == 0 {
		return 0
	}
	return b.Variance()/b.N + a.Variance()/a.N
}

// TauStandardized is the standard deviation of the mSPRT's mixing
// distribution, in units of the per-recipient standard deviation: the
// test is most powerful for effects of about this size. 0.1 is a 2-point
// lift on a 5 % conversion rate: large enough that a strong variant wins
// within the first few hundred sends, small enough that a 30 % relative
// lift is still found within a month of daily traffic (see the power
// test).
const TauStandardized = 0.1

// Sequential is the mSPRT comparison of a treatment with its control at
// one look.
type Sequential struct {
	// Likelihood is the mixture likelihood ratio Λ of "the means
	// differ" against "they are equal".
	Likelihood float64
	// PValue is 1/Λ capped at 1: valid at this look. The always-valid
	// p-value is the running minimum over all looks (see AlwaysValid).
	PValue float64
}

// MSPRT computes the mixture likelihood ratio for mean(b) - mean(a) under
// a normal approximation with a N(0, τ²) mixing prior, τ = tau × the
// pooled per-recipient standard deviation:
//
//	Λ = sqrt(V / (V + τ²)) · exp(Δ² τ² / (2 V (V + τ²)))
//
// where Δ is the observed difference and V its variance. With no
// variance yet (no conversions at all) Λ is 1: no evidence either way.
func MSPRT(b, a Sample, tau float64) Sequential {
	v := diffVariance(b, a)
	pooled := Sample{N: a.N + b.N, Sum: a.Sum + b.Sum, SumSq: a.SumSq + b.SumSq}.Variance()
	t2 := tau * tau * pooled
	if v <= 0 || t2 <= 0 {
		return Sequential{Likelihood: 1, PValue: 1}
	}
	d := b.Mean() - a.Mean()
	logL := 0.5*math.Log(v/(v+t2)) + d*d*t2/(2*v*(v+t2))
	l := math.Exp(logL)
	return Sequential{Likelihood: l, PValue: math.Min(1, 1/l)}
}

// AlwaysValid folds a look into a running always-valid p-value: the
// smaller of the previous one and this look's. Start from 1.
func AlwaysValid(previous float64, look Sequential) float64 {
	if previous <= 0 || previous > 1 {
		previous = 1
	}
	return math.Min(previous, look.PValue)
}
