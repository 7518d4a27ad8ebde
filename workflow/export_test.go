package workflow

import "github.com/riverqueue/river"

// The River workers, for rivertest in the external tests (workers_test.go).

func ReminderWorker(e *Engine) river.Worker[ReminderArgs] { return &reminderWorker{e: e} }

func VerifyReminderWorker(e *Engine) river.Worker[VerifyReminderArgs] {
	return &verifyReminderWorker{e: e}
}

func VerifyExpiryWorker(e *Engine) river.Worker[VerifyExpiryArgs] { return &verifyExpiryWorker{e: e} }

func ParseInboundWorker(e *Engine) river.Worker[ParseInboundArgs] { return &parseInboundWorker{e: e} }
