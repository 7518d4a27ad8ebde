package workflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
)

func mustRegime(t *testing.T, id string) *dsr.Regime {
	t.Helper()
	r, err := dsr.LookupRegime(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustCal(t *testing.T, code string) *dsr.Calendar {
	t.Helper()
	c, err := dsr.LookupCalendar(code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dateIn(d *apitest.Desk, at time.Time) dsr.Date { return dsr.DateIn(at, d.Org.Location()) }

func asErr(err error, target **dsr.Error) bool { return errors.As(err, target) }
