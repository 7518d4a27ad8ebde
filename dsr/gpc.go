package dsr

import "strings"

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
