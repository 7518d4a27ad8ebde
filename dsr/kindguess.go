package dsr

import (
	"fmt"
	"regexp"
	"strings"
)

// kindRules guess a request's kind from English wording, most specific
// first: the first rule matching the subject wins, else the first matching
// the body.
var kindRules = []struct {
	kind Kind
	re   *regexp.Regexp
}{
	{KindAccess, regexp.MustCompile(`(?i)\b(data )?subject access request\b|\bd?sar\b|\bright of access\b`)},
	{KindErasure, regexp.MustCompile(`(?i)\bright to (erasure|be forgotten)\b`)},
	{KindPortability, regexp.MustCompile(`(?i)\b(data )?portability\b`)},
	{KindRectification, regexp.MustCompile(`(?i)\b(right to )?rectification\b`)},
	{KindWithdrawConsent, regexp.MustCompile(`(?i)\b(withdraw(ing|al of)?|revok(e|ing)|revocation of|take back) (my |of (my )?)?consent\b|\bconsent withdrawal\b`)},
	{KindAutomatedDecision, regexp.MustCompile(`(?i)\bautomated (individual )?decision(s|-making)?\b|\bhuman (review|intervention)\b|\bprofiling decision\b`)},
	{KindOptOut, regexp.MustCompile(`(?i)\bopt(ing)?[ -]?out\b|\b(do not|don'?t|stop) (sell|shar)(e|ing)\b|\bstop selling\b|\bunsubscribe\b|\bremove me from (your|the|all) (mailing|marketing|email|e-mail)|\bsale of my\b|\b(sell|sharing|share) my (personal )?(data|information|info)\b`)},
	{KindErasure, regexp.MustCompile(`(?i)\b(delete|deletion|erase|erasure|remove|removal|forget me)\b`)},
	{KindRectification, regexp.MustCompile(`(?i)\b(correct|correction|rectify|update|wrong|inaccurate|incorrect)\b`)},
	{KindPortability, regexp.MustCompile(`(?i)\b(port|export|transfer)\b`)},
	{KindRestriction, regexp.MustCompile(`(?i)\brestrict(ion)?\b`)},
	{KindObjection, regexp.MustCompile(`(?i)\bobject(ion)?\b`)},
	{KindAccess, regexp.MustCompile(`(?i)\baccess\b|\bcopy of\b|\bwhat (personal )?(data|information)\b`)},
	{KindOptOut, regexp.MustCompile(`(?i)\bshar(e|ing)\b`)},
}

// GuessKind guesses what an email asks for from English keywords ("delete
// my data" → erasure, "subject access request" → access, "do not sell" →
// opt_out, …), looking at the subject first and then the body; with no
// keyword it is access. It returns the kind and the rule that decided it,
// for the officer who checks the guess.
func GuessKind(subject, body string) (Kind, string) {
	for _, where := range []struct{ name, text string }{{"subject", subject}, {"body", body}} {
		for _, r := range kindRules {
			if m := r.re.FindString(where.text); m != "" {
				return r.kind, fmt.Sprintf("%q in the %s", strings.ToLower(m), where.name)
			}
		}
	}
	return KindAccess, "no keyword: access by default"
}

// GuessOptOutOf lists what an opt-out by email is about, for the
// opt_out_of field: sale and sharing unless the text says otherwise.
func GuessOptOutOf(text string) string {
	t := strings.ToLower(text)
	var out []string
	add := func(v string, words ...string) {
		for _, w := range words {
			if strings.Contains(t, w) {
				out = append(out, v)
				return
			}
		}
	}
	add("sale", "sell", "sale")
	add("sharing", "shar")
	add("targeted_advertising", "advertis", "targeted")
	add("profiling", "profiling")
	add("direct_marketing", "marketing", "unsubscribe", "newsletter")
	if len(out) == 0 {
		return "sale,sharing"
	}
	return strings.Join(out, ",")
}
