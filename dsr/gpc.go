package dsr

import (
	"fmt"
	"strings"
)

// GPCSignal reports whether the Sec-GPC header fields of a request carry
// the Global Privacy Control signal: the value must be exactly "1"
// (surrounding whitespace is not part of an HTTP field value). When several
// fields arrive, every one must say "1"; conflicting or other values
// ("0", "true") are not a signal.
func GPCSignal(values []string) bool {
	if len(values) == 0 {
		return false
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") { // fields may also be combined with commas
			if strings.Trim(part, " \t") != "1" {
				return false
			}
		}
	}
	return true
}

// GPCOptOut is what a Global Privacy Control signal opts out of.
const GPCOptOut = "sale,sharing"

// GPCLaws returns the organisation's regimes that require honouring a
// universal opt-out signal on day d (in force, and GPC required from on
// or before d), in the order of the config.
func GPCLaws(org *Config, d Date) []*Regime {
	var out []*Regime
	for _, id := range org.Regimes {
		if r, err := LookupRegime(id); err == nil && r.RequiresGPC(d) {
			out = append(out, r)
		}
	}
	return out
}

// GPCPlace is the regime a GPC signal received on day d falls under, with
// the place stored on its opt-out.
type GPCPlace struct {
	Regime         *Regime
	Country, State string
}

// GPCRegime picks the regime a Global Privacy Control signal received on
// day d is an opt-out under. With a place (country, optional state), the
// organisation's regime for it, which must require honouring the signal
// on d. Without one: the CCPA when the organisation applies it and it
// requires the signal (as before other laws required it), else the first
// configured regime that does, stored with the first place the config
// maps to it. Errors: EINVALID (a malformed place), EUNAVAILABLE (no
// regime requires honouring the signal there, or at all).
func GPCRegime(org *Config, country, state string, d Date) (GPCPlace, error) {
	country, state = strings.TrimSpace(country), strings.ToUpper(strings.TrimSpace(state))
	if country != "" {
		c, ok := NormalizeCountry(country)
		if !ok {
			return GPCPlace{}, InvalidField("country", "is not an ISO 3166 country code")
		}
		if state != "" && (c != "US" || !isUSState(state)) {
			return GPCPlace{}, InvalidField("state", "is not a US state code")
		}
		r, err := org.RegimeFor(c, state, d)
		if err != nil {
			return GPCPlace{}, err
		}
		if !r.RequiresGPC(d) {
			return GPCPlace{}, &Error{Code: EUNAVAILABLE, Message: fmt.Sprintf(
				"%s, the law that applies there, does not require honouring a Global Privacy Control signal; use the opt-out form instead.", r.Short)}
		}
		return GPCPlace{Regime: r, Country: c, State: state}, nil
	}
	if state != "" {
		return GPCPlace{}, InvalidField("country", "is required with a state")
	}
	laws := GPCLaws(org, d)
	if len(laws) == 0 {
		return GPCPlace{}, &Error{Code: EUNAVAILABLE, Message: org.Organisation.Name +
			" applies no law that requires honouring a Global Privacy Control signal, so it has nothing to record."}
	}
	pick := laws[0]
	for _, r := range laws {
		if r.ID == "ccpa" {
			pick = r
		}
	}
	if pick.ID == "ccpa" {
		return GPCPlace{Regime: pick, Country: "US", State: "CA"}, nil
	}
	for _, j := range org.Jurisdictions {
		if j.Regime == pick.ID && len(j.Countries) > 0 {
			p := GPCPlace{Regime: pick, Country: j.Countries[0]}
			if len(j.States) > 0 {
				p.State = j.States[0]
			}
			return p, nil
		}
	}
	return GPCPlace{Regime: pick}, nil
}

func isUSState(s string) bool {
	for _, v := range USStates {
		if v == s {
			return true
		}
	}
	return false
}
