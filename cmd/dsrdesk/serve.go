package main

import (
	"context"
	"log/slog"
)

func serve(ctx context.Context, logger *slog.Logger) error {
	return nil
}
