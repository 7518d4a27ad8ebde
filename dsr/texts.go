package dsr

import (
	"fmt"
	"sort"
	"strings"
)

// Authority is where a requester may complain under one regime, as the
// organisation's policy names it: "complaints to the ICO" (Datto).
type Authority struct {
	Name          string `json:"name"`
	URL           string `json:"url"`            // https; optional
	PostalAddress string `json:"postal_address"` // optional
	// Text, when set, is the organisation's own sentence and replaces the
	// one built from the fields above.
	Text    string `json:"text"`
	Comment string `json:"comment"`
}

// Recourse is an independent recourse mechanism the organisation has
// committed to (Ontra: JAMS under the EU-U.S. Data Privacy Framework).
// Regimes limits it to some regimes; empty means all.
type Recourse struct {
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Regimes     []string `json:"regimes"`
	Comment     string   `json:"comment"`
}

// Representative is an Art. 27 representative: Region "EU" (named to
// requesters under GDPR-style EU regimes) or "UK" (under UK GDPR).
type Representative struct {
	Region        string `json:"region"`
	Name          string `json:"name"`
	PostalAddress string `json:"postal_address"`
	Email         string `json:"email"`
	Comment       string `json:"comment"`
}

// DPO is the organisation's data protection officer (or, as Datto calls
// it, its data protection representative), named to GDPR requesters.
type DPO struct {
	Name          string `json:"name"`
	Email         string `json:"email"`
	PostalAddress string `json:"postal_address"`
	Comment       string `json:"comment"`
}

// ProcessorNotice is shown on the form before submission by an
// organisation that processes data for its clients (Nemerosa Ontrack):
// Notice explains it, Instructions tell a person whose data a client
// controls what to do instead (contact the client), and are mailed to
// whoever takes that path.
type ProcessorNotice struct {
	Notice       string `json:"notice"`
	Instructions string `json:"instructions"`
	Comment      string `json:"comment"`
}

// Representative regions.
const (
	RegionEU = "EU"
	RegionUK = "UK"
)

func (c *Config) validateTexts(add addFunc) {
	ids := make([]string, 0, len(c.Complaints))
	for id := range c.Complaints {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a, f := c.Complaints[id], "complaints."+id
		if !c.offers(id) {
			add(f, "%q is not in regimes", id)
		}
		if strings.TrimSpace(a.Name) == "" && strings.TrimSpace(a.Text) == "" {
			add(f+".name", "is required (or give text)")
		}
		if a.URL != "" && !strings.HasPrefix(a.URL, "https://") {
			add(f+".url", "must be an https:// URL")
		}
	}
	for i, r := range c.Recourse {
		f := fmt.Sprintf("recourse[%d]", i)
		if strings.TrimSpace(r.Name) == "" {
			add(f+".name", "is required")
		}
		if r.URL != "" && !strings.HasPrefix(r.URL, "https://") {
			add(f+".url", "must be an https:// URL")
		}
		for k, id := range r.Regimes {
			if !c.offers(id) {
				add(fmt.Sprintf("%s.regimes[%d]", f, k), "%q is not in regimes", id)
			}
		}
	}
	for i, r := range c.Representatives {
		f := fmt.Sprintf("representatives[%d]", i)
		if r.Region != RegionEU && r.Region != RegionUK {
			add(f+".region", "must be EU or UK, not %q", r.Region)
		}
		if strings.TrimSpace(r.Name) == "" {
			add(f+".name", "is required")
		}
		if strings.TrimSpace(r.PostalAddress) == "" {
			add(f+".postal_address", "is required (Art. 27 representatives are named with their address)")
		}
		if r.Email != "" && !validEmail(r.Email) {
			add(f+".email", "must be an email address")
		}
	}
	if d := c.DPO; d != nil {
		if !validEmail(d.Email) {
			add("dpo.email", "must be an email address")
		}
	}
	if p := c.Processor; p != nil {
		if strings.TrimSpace(p.Notice) == "" {
			add("processor.notice", "is required")
		}
		if strings.TrimSpace(p.Instructions) == "" {
			add("processor.instructions", "is required")
		}
	}
	kinds := make([]string, 0, len(c.KindParagraphs))
	for k := range c.KindParagraphs {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		f := "kind_paragraphs." + k
		if _, err := ParseKind(k); err != nil {
			add(f, "%s", ErrorMessage(err))
		} else if !c.OffersKind(Kind(k)) {
			add(f, "%q is not in kinds", k)
		}
		if strings.TrimSpace(c.KindParagraphs[Kind(k)]) == "" {
			add(f, "must not be empty")
		}
	}
}

// gdprStyle reports whether r is a GDPR-style law (periods in months):
// complaints go to a data protection authority, a DPO and Art. 27
// representatives are named, and an opt-out is an objection.
func gdprStyle(r *Regime) bool { return r.MonthRule != "" }

// region is the Art. 27 region of a GDPR-style regime ("EU" or "UK").
func region(r *Regime) string {
	if r.MonthRule == "uk" {
		return RegionUK
	}
	return RegionEU
}

// ComplaintAuthority returns the authority the organisation names for
// regime r, if it names one.
func (c *Config) ComplaintAuthority(r *Regime) (Authority, bool) {
	for id, a := range c.Complaints {
		if or, err := LookupRegime(id); err == nil && or == r {
			return a, true
		}
	}
	return Authority{}, false
}

// ComplaintTexts are the paragraphs a requester under r is told about
// where to turn: the complaint authority (the organisation's, else the
// law's text), then the independent recourse, the Art. 27 representative
// and the DPO (the dpo object, else organisation.dpo_email) where the
// organisation has them.
func (c *Config) ComplaintTexts(r *Regime) []string {
	if r == nil {
		return nil
	}
	var out []string
	if a, ok := c.ComplaintAuthority(r); ok {
		out = append(out, a.sentence(gdprStyle(r)))
	} else if r.Complaint != "" {
		out = append(out, r.Complaint)
	}
	for _, rc := range c.Recourse {
		if !appliesToRegime(rc.Regimes, r) {
			continue
		}
		s := "Independent recourse: " + rc.Name
		if rc.URL != "" {
			s += " (" + rc.URL + ")"
		}
		s += "."
		if rc.Description != "" {
			s += " " + rc.Description
		}
		out = append(out, s)
	}
	if gdprStyle(r) {
		for _, rep := range c.Representatives {
			if rep.Region != region(r) {
				continue
			}
			law := "Art. 27 GDPR"
			where := "the EU"
			if rep.Region == RegionUK {
				law, where = "Art. 27 UK GDPR", "the UK"
			}
			s := fmt.Sprintf("Our representative in %s (%s): %s, %s", where, law, rep.Name, oneLine(rep.PostalAddress))
			if rep.Email != "" {
				s += ", " + rep.Email
			}
			out = append(out, s+".")
		}
		d := c.DPO
		if d == nil && c.Organisation.DPOEmail != "" {
			d = &DPO{Email: c.Organisation.DPOEmail} // organisation.dpo_email alone
		}
		if d != nil {
			s := "Our data protection officer: "
			if d.Name != "" {
				s += d.Name + ", "
			}
			s += d.Email
			if d.PostalAddress != "" {
				s += ", " + oneLine(d.PostalAddress)
			}
			out = append(out, s+".")
		}
	}
	return out
}

func (a Authority) sentence(judicial bool) string {
	if t := strings.TrimSpace(a.Text); t != "" {
		return t
	}
	s := "You have the right to lodge a complaint with " + a.Name
	if a.URL != "" {
		s += " (" + a.URL + ")"
	}
	if a.PostalAddress != "" {
		s += ", " + oneLine(a.PostalAddress)
	}
	s += "."
	if judicial {
		s += " You may also seek a judicial remedy."
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func appliesToRegime(ids []string, r *Regime) bool {
	if len(ids) == 0 {
		return true
	}
	for _, id := range ids {
		if or, err := LookupRegime(id); err == nil && or == r {
			return true
		}
	}
	return false
}

// KindParagraph is the organisation's extra paragraph for requests of
// kind k (shown on the form and in the mails about such a request), or "".
func (c *Config) KindParagraph(k Kind) string { return strings.TrimSpace(c.KindParagraphs[k]) }

// Opt-out choices (values of the opt_out_of field).
var (
	gdprOptOuts = []string{"direct_marketing", "profiling"}
	usOptOuts   = []string{"sale", "sharing", "targeted_advertising", "profiling"}
)

// OptOutChoices are the opt-out choices a requester under r has: under a
// GDPR-style law an opt-out is an objection to direct marketing or
// profiling; under US state laws it is sale, sharing, targeted
// advertising and profiling.
func OptOutChoices(r *Regime) []string {
	if r != nil && gdprStyle(r) {
		return gdprOptOuts
	}
	return usOptOuts
}

// OptOutChoicesOffered are the opt-out choices of every regime the
// organisation offers, in form order: what the form shows before the
// requester's place is known. An EU-only organisation never shows
// "sale" or "sharing".
func (c *Config) OptOutChoicesOffered() []string {
	seen := map[string]bool{}
	for _, id := range c.Regimes {
		if r, err := LookupRegime(id); err == nil {
			for _, o := range OptOutChoices(r) {
				seen[o] = true
			}
		}
	}
	var out []string
	for _, o := range KindFieldValues(KindOptOut, "opt_out_of") {
		if seen[o] {
			out = append(out, o)
		}
	}
	return out
}
