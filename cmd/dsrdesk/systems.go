package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dsrdesk/dsrdesk/db/connector"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify/webhook"
)

// systemEnv is the environment variable holding a system's secret part:
// DSR_SYSTEM_<NAME>_<WHAT>, the name upper-cased with '-' as '_'.
func systemEnv(system, what string) string {
	return "DSR_SYSTEM_" + strings.ToUpper(strings.ReplaceAll(system, "-", "_")) + "_" + what
}

// openRunners builds the task runner of every configured system that has
// an automatic connector: webhook (secret from DSR_SYSTEM_<NAME>_SECRET),
// postgres and mysql (DSN from DSR_SYSTEM_<NAME>_DSN). Manual systems get
// none: their tasks are mailed to the owner. SQL runners do not connect
// until their first task. Errors: every missing variable, named, and
// every invalid connector; then nothing stays open.
func openRunners(systems []dsr.System, getenv func(string) string) (map[string]dsr.TaskRunner, error) {
	runners := map[string]dsr.TaskRunner{}
	var errs []error
	need := func(sys dsr.System, what string) (string, bool) {
		name := systemEnv(sys.Name, what)
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			errs = append(errs, fmt.Errorf("system %s (%s): %s is not set", sys.Name, sys.Connector.Type, name))
			return "", false
		}
		return v, true
	}
	for _, sys := range systems {
		var (
			r   dsr.TaskRunner
			err error
		)
		switch sys.Connector.Type {
		case dsr.ConnectorWebhook:
			secret, ok := need(sys, "SECRET")
			if !ok {
				continue
			}
			r, err = webhook.New(sys, secret, nil)
		case dsr.ConnectorPostgres:
			dsn, ok := need(sys, "DSN")
			if !ok {
				continue
			}
			r, err = connector.NewPostgres(sys, dsn)
		case dsr.ConnectorMySQL:
			dsn, ok := need(sys, "DSN")
			if !ok {
				continue
			}
			r, err = connector.NewMySQL(sys, dsn)
		case dsr.ConnectorManual:
			continue
		default:
			err = fmt.Errorf("unknown connector type %q", sys.Connector.Type)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("system %s: %w", sys.Name, err))
			continue
		}
		runners[sys.Name] = r
	}
	if len(errs) > 0 {
		closeRunners(runners)
		return nil, errors.Join(errs...)
	}
	return runners, nil
}

// closeRunners releases the connections of the runners that hold any.
func closeRunners(runners map[string]dsr.TaskRunner) {
	for _, r := range runners {
		if c, ok := r.(interface{ Close() }); ok {
			c.Close()
		}
	}
}
