package dsr

import (
	"sort"
	"strings"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/br"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/cz"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/ecb"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/ro"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/us"
)

// Calendar says which days are working days: Monday to Friday, less the
// public holidays of one place. Holidays come from github.com/rickar/cal;
// nothing here is a hand-typed list.
type Calendar struct {
	Code        string
	Description string
	bc          *cal.BusinessCalendar
}

var calendarSources = map[string]struct {
	desc     string
	holidays []*cal.Holiday
}{
	"GB-ENG": {"England and Wales bank holidays", gb.Holidays},
	"GB-WLS": {"England and Wales bank holidays", gb.Holidays},
	"US":     {"US federal holidays", us.Holidays},
	"US-CA":  {"California holidays (Gov. Code §6700) and US federal holidays", caHolidays()},
	"EU":     {"TARGET2 closing days (ECB): the EU-wide common holidays", ecb.Holidays},
	"NL":     {"Netherlands public holidays", nl.Holidays},
	"DE":     {"Germany nationwide public holidays", de.Holidays},
	"BE":     {"Belgium public holidays", be.Holidays},
	"RO":     {"Romania public holidays", append(append([]*cal.Holiday{}, ro.Holidays...), roEpiphany, roStJohn)},
	"FR":     {"France public holidays", fr.Holidays},
	"IE":     {"Ireland public holidays", ie.Holidays},
	"AT":     {"Austria public holidays", at.Holidays},
	"CZ":     {"Czechia public holidays", cz.Holidays},
	"DK":     {"Denmark public holidays", dk.Holidays},
	"ES":     {"Spain national public holidays", es.Holidays},
	"IT":     {"Italy public holidays", it.Holidays},
	"PL":     {"Poland public holidays", pl.Holidays},
	"SE":     {"Sweden public holidays", se.Holidays},
	"NO":     {"Norway public holidays", no.Holidays},
	"CH":     {"Switzerland national holidays", ch.Holidays},
	"BR":     {"Brazil national holidays", br.Holidays},
	"CA":     {"Canada federal statutory holidays", ca.Holidays},
	"NZ":     {"New Zealand public holidays", nz.Holidays},
}

// Romania added 6 and 7 January as public holidays from 2024 (Law no.
// 52/2023 amending Labour Code art. 139(1)); rickar/cal v2.1.13 lacks them.
// Remove these two once the library has them.
var (
	roEpiphany = &cal.Holiday{Name: "Epiphany", Type: cal.ObservancePublic, Month: time.January, Day: 6, StartYear: 2024, Func: cal.CalcDayOfMonth}
	roStJohn   = &cal.Holiday{Name: "Synaxis of St John the Baptist", Type: cal.ObservancePublic, Month: time.January, Day: 7, StartYear: 2024, Func: cal.CalcDayOfMonth}
)

// California counts in its own holidays: Civ. Code §§7, 9 make every day
// not a Gov. Code §6700 holiday a business day, and §6700 lists, besides
// the federal holidays, Lincoln Day (12 February), Cesar Chavez Day (31
// March), Admission Day (9 September) and Native American Day (fourth
// Friday in September). §6701 moves the fixed ones from a Sunday to the
// Monday; a Saturday is not moved. The federal holidays stay in with
// their federal observed days, so US-CA skips every day either calendar
// skips. Not in: Good Friday (only 12-3 pm under §6700), the day after
// Thanksgiving (a state-employee day under §19853, not a §6700 holiday),
// and days appointed by the Governor one at a time.
var (
	caSundayToMonday = []cal.AltDay{{Day: time.Sunday, Offset: 1}}
	caLincolnDay     = &cal.Holiday{Name: "Lincoln Day", Type: cal.ObservancePublic, Month: time.February, Day: 12, Observed: caSundayToMonday, Func: cal.CalcDayOfMonth}
	caCesarChavezDay = &cal.Holiday{Name: "Cesar Chavez Day", Type: cal.ObservancePublic, Month: time.March, Day: 31, Observed: caSundayToMonday, Func: cal.CalcDayOfMonth}
	caAdmissionDay   = &cal.Holiday{Name: "Admission Day", Type: cal.ObservancePublic, Month: time.September, Day: 9, Observed: caSundayToMonday, Func: cal.CalcDayOfMonth}
	caNativeAmerican = &cal.Holiday{Name: "Native American Day", Type: cal.ObservancePublic, Month: time.September, Weekday: time.Friday, Offset: 4, Func: cal.CalcWeekdayOffset}
)

func caHolidays() []*cal.Holiday {
	return append(append([]*cal.Holiday{}, us.Holidays...), caLincolnDay, caCesarChavezDay, caAdmissionDay, caNativeAmerican)
}

// CalendarCodes returns the known calendar codes, sorted.
func CalendarCodes() []string {
	codes := make([]string, 0, len(calendarSources))
	for c := range calendarSources {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}

// LookupCalendar returns the calendar with the given code (case
// insensitive). Errors: EINVALID naming the valid codes.
func LookupCalendar(code string) (*Calendar, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	src, ok := calendarSources[code]
	if !ok {
		return nil, Errorf(EINVALID, "unknown calendar %q (valid: %s)", code, strings.Join(CalendarCodes(), ", "))
	}
	bc := cal.NewBusinessCalendar()
	bc.AddHoliday(src.holidays...)
	return &Calendar{Code: code, Description: src.desc, bc: bc}, nil
}

// HolidayName returns the name of the public holiday observed on d, or "".
func (c *Calendar) HolidayName(d Date) string {
	if c == nil {
		return ""
	}
	actual, observed, h := c.bc.IsHoliday(d.t)
	if !observed || h == nil {
		return ""
	}
	if !actual {
		return h.Name + " (substitute day)"
	}
	return h.Name
}

// IsWorkingDay reports whether d is Monday to Friday and not a holiday of
// the calendar. A nil calendar knows no holidays.
func (c *Calendar) IsWorkingDay(d Date) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return c.HolidayName(d) == ""
}

// whyNotWorking explains why d is not a working day ("a Saturday",
// "Christmas Day").
func (c *Calendar) whyNotWorking(d Date) string {
	if name := c.HolidayName(d); name != "" {
		return name
	}
	return "a " + d.Weekday().String()
}
