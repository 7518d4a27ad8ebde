package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// DigestArgs sends each officer their daily digest: their open requests
// due within seven days, anything overdue, and the unassigned ones.
type DigestArgs struct {
	Day string `json:"day" river:"unique"` // local date the digest is for
}

// Kind is the River job kind.
func (DigestArgs) Kind() string { return "officer_digest" }

// InsertOpts: one digest per day.
func (DigestArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// dailyAt is a River periodic schedule firing once a day at a local time.
type dailyAt struct {
	at  time.Duration
	loc *time.Location
}

// Next returns the next firing after t.
func (d dailyAt) Next(t time.Time) time.Time {
	lt := t.In(d.loc)
	next := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, d.loc).Add(d.at)
	if !next.After(t) {
		next = time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, d.loc).Add(d.at)
	}
	return next
}

type digestWorker struct {
	river.WorkerDefaults[DigestArgs]
	e *Engine
}

func (w *digestWorker) Work(ctx context.Context, job *river.Job[DigestArgs]) error {
	_, err := w.e.SendDigests(ctx)
	return err
}

// SendDigests records one digest per active officer who has something due
// within 7 days, overdue, or unassigned, and returns how many were sent.
func (e *Engine) SendDigests(ctx context.Context) (int, error) {
	sent := 0
	today := dsr.DateIn(e.now(), e.org.Location())
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		items, err := db.DigestItems(ctx, tx, today.AddDays(7))
		if err != nil {
			return err
		}
		officers, err := db.ActiveUsers(ctx, tx, db.RoleOfficer)
		if err != nil {
			return err
		}
		for _, u := range officers {
			lines, due, overdue := digestLines(items, u.ID, today)
			if len(lines) == 0 {
				continue
			}
			d := e.officerMailData(&dsr.Request{})
			d.ConsoleURL, d.Lines = e.link("/console"), lines
			d.Note = fmt.Sprintf("%d due this week, %d overdue", due, overdue)
			if err := e.mailUsers(ctx, tx, "", []db.User{u}, "officer_digest", d); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	return sent, err
}

// digestLines picks the officer's own items and the unassigned ones.
func digestLines(items []db.DigestItem, userID string, today dsr.Date) (lines []string, due, overdue int) {
	for _, it := range items {
		mine := it.AssigneeID == userID
		if !mine && it.AssigneeID != "" {
			continue
		}
		d := it.DueOn
		when := fmt.Sprintf("due %s", d.Human())
		if d.Before(today) {
			when = fmt.Sprintf("OVERDUE since %s", d.Human())
			overdue++
		} else {
			due++
		}
		owner := "yours"
		if !mine {
			owner = "unassigned"
		}
		lines = append(lines, fmt.Sprintf("- %s %s: %s (%s)", dsr.FormatRef(it.Ref), it.Kind.Short(), when, owner))
	}
	return lines, due, overdue
}
