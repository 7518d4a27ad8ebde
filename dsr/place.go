package dsr

import (
	"sort"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Country groups usable in the organisation config.
var countryGroups = map[string][]string{
	"EU": {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
		"LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"},
	"EEA": nil, // EU + Iceland, Liechtenstein, Norway; filled in init
}

func init() {
	countryGroups["EEA"] = append(append([]string{}, countryGroups["EU"]...), "IS", "LI", "NO")
}

// USStates are the two-letter codes of the US states and DC.
var USStates = []string{"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
	"KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND",
	"OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"}

// NormalizeCountry returns the upper-case ISO 3166-1 alpha-2 code for s,
// or false when s is not a country code (golang.org/x/text knows them).
func NormalizeCountry(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 {
		return "", false
	}
	r, err := language.ParseRegion(s)
	// Reject aliases ("UK" → GB) and withdrawn codes: config matching and
	// stored data use the canonical code only.
	if err != nil || !r.IsCountry() || r.Canonicalize().String() != s || display.English.Regions().Name(r) == "" {
		return "", false
	}
	return s, true
}

// NormalizeState returns the upper-case code of a US state, or false.
func NormalizeState(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, st := range USStates {
		if st == s {
			return s, true
		}
	}
	return "", false
}

// Country is a code with its English name, for select boxes.
type Country struct{ Code, Name string }

// Countries lists every ISO country with its English name, sorted by name.
func Countries() []Country {
	var out []Country
	namer := display.English.Regions()
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || !r.IsCountry() || r.String() != code {
				continue
			}
			if name := namer.Name(r); name != "" {
				out = append(out, Country{Code: code, Name: name})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CountryName returns the English name of a country code, or the code.
func CountryName(code string) string {
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	if n := display.English.Regions().Name(r); n != "" {
		return n
	}
	return code
}
