package dsr

import (
	"fmt"
	"strings"
	"time"
)

// Issue #15 §3: the export package built from the systems' data. The
// building itself streams (workflow); this file holds the pure parts:
// safe paths inside the zip, what the regime requires an access answer
// to tell, and the plan of a completion that hands the package over.

// PackageSegment makes s safe as one path segment inside the package:
// no directory parts, no parent or absolute paths, no control characters
// or leading dots (SafeFilename), "document" when nothing is left.
func PackageSegment(s string) string {
	s = strings.TrimLeft(SafeFilename(strings.TrimSpace(s), ""), ". ")
	if s == "" {
		return "document"
	}
	return s
}

// SystemNamed returns the configured system called name (false when the
// config no longer lists it).
func (c *Config) SystemNamed(name string) (System, bool) {
	for _, s := range c.Systems {
		if s.Name == name {
			return s, true
		}
	}
	return System{}, false
}

// AccessInformation lists, in plain words, what the regime requires an
// answer to an access request to tell besides the data itself: GDPR
// Art. 15(1)-(2) for the GDPR-style laws; for the US state laws the
// categories, sources, purposes and recipients they name (CCPA
// §1798.110). The package's README.html answers each from the systems'
// config.
func AccessInformation(r *Regime) []string {
	if r != nil && gdprStyle(r) {
		return []string{
			"why we use your data (the purposes)",
			"what kinds of data we hold (the categories)",
			"who we share it with (the recipients or categories of recipients)",
			"how long we keep it, or how we decide that (retention)",
			"where the data came from, if not from you (the source)",
			"your rights to ask us to correct or erase your data, to restrict or object to its use, and to complain to a supervisory authority",
		}
	}
	return []string{
		"the categories of personal information we collected about you",
		"the categories of sources we collected it from",
		"the business or commercial purposes for collecting it",
		"the categories of third parties we disclosed it to",
		"the specific pieces of personal information we hold (the files in this package)",
	}
}

// TaskStatusWords says in plain words what a finished task's status means
// for the person reading their package.
func TaskStatusWords(s TaskStatus, basis string) string {
	switch s {
	case TaskDone:
		return "We found data about you in this system; it is in this package."
	case TaskNotFound:
		return "This system holds no data about you."
	case TaskKept:
		if strings.TrimSpace(basis) != "" {
			return "This system holds data about you that we keep on a legal basis: " + basis
		}
		return "This system holds data about you that we keep on a legal basis."
	case TaskSkipped:
		return "This system was not searched for this request."
	case TaskFailed:
		return "We could not search this system automatically; we will tell you separately if it holds data about you."
	}
	return "This system is still being searched."
}

// PackageHandOver is a built export package an officer's completion
// hands to the data subject.
type PackageHandOver struct {
	AttachmentID string
	Systems      int
}

// PlanCompletePackage closes an access or portability request as done and
// hands over the built export package: the data subject (never the agent)
// gets an expiring download link, as with uploaded export files
// (PlanCompleteWith). The attachment itself is already stored; the caller
// makes it an export in the same transaction. Errors: as PlanCompleteWith.
func PlanCompletePackage(org *Config, r *Request, actor, summary, systems string, p PackageHandOver, o Outcome, now time.Time) (Change, error) {
	if err := CheckNotAppealed(r); err != nil {
		return Change{}, err
	}
	if o.Result == "" {
		o.Result = OutcomeFull
	}
	data := map[string]string{"summary": summary, "systems": systems, "outcome": o.Result,
		"exports": "1", "package": p.AttachmentID, "package_systems": fmt.Sprint(p.Systems)}
	for i, k := range o.Kept {
		data[fmt.Sprintf("kept.%d", i)] = k.Data + " — " + k.Basis
	}
	m := Message{Note: strings.TrimSpace(summary), Outcome: o.Result, Kept: o.Kept}
	expires := now.Add(time.Duration(org.Downloads.ValidDays) * 24 * time.Hour)
	m.Download = &TokenGrant{Purpose: TokenDownload, Holder: HolderSubject, Scope: ScopeFull, Expires: expires}
	m.LinkExpires = expires
	c, err := PlanClose(r, StatusCompleted, actor, EventCompleted, MailCompleted, data, m, now)
	if err == nil {
		c.Outcome = &o
	}
	return c, err
}
