package main

import (
	"context"
	"errors"
	"io"
	"net/url"
)

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("demo: not built yet")
}

func benchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("bench: not built yet")
}
