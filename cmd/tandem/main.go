// Command tandem runs Tandem: the shared system of record for a company's marketing and
// sales teams.
//
//	tandem serve                 run the server (SQLite under ./tandem-data by default)
//	tandem migrate               apply schema migrations
//	tandem keys create           print a new API token
//	tandem sources create        print a new source and its write key
//	tandem demo                  fill the store with believable synthetic data
//	tandem rescore               rescore every contact under the active agreement
//	tandem import OBJECT FILE    import contacts, accounts or opportunities from CSV
//	tandem export OBJECT         export contacts, accounts or opportunities as CSV
//	tandem users create          add a person who signs in to the web app
//	tandem bench ingest          measure ingest throughput and latency
//	tandem bench handoff         measure the time from an MQL to its signed webhook
//
// Every flag can also be set by an environment variable: --db by TANDEM_DB, --addr by
// TANDEM_ADDR, and so on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

const usage = `Tandem aligns marketing and sales on one set of terms, one handoff and one set of numbers.

Usage:
  tandem serve [flags]             run the server
  tandem migrate [flags]           apply schema migrations
  tandem keys create [flags]       create an API token and print it
  tandem sources create [flags]    create an ingestion source and print its write key
  tandem demo [flags]              fill the store with believable synthetic data
  tandem rescore [flags]           rescore every contact under the active agreement
  tandem import OBJECT FILE [flags]
                                   import contacts, accounts or opportunities from a CSV
                                   file (HubSpot's and Salesforce's columns are recognised)
  tandem export OBJECT [flags]     write contacts, accounts or opportunities as CSV
  tandem users create [flags]      add a person who signs in to the web app
  tandem bench ingest [flags]      measure ingest throughput against a server on loopback
  tandem bench handoff [flags]     measure the time from an MQL's event to the rep's webhook

Run "tandem COMMAND -h" for a command's flags. Every flag also reads the environment
variable TANDEM_ followed by the flag's name in capitals, with - as _ (TANDEM_DB, TANDEM_ADDR).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tandem:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout, stderr)
	case "keys", "sources", "users":
		if len(rest) == 0 || rest[0] != "create" {
			return fmt.Errorf("usage: tandem %s create [flags]", cmd)
		}
		switch cmd {
		case "keys":
			return createKey(ctx, rest[1:], stdout, stderr)
		case "users":
			return createUser(ctx, rest[1:], stdout, stderr)
		}
		return createSource(ctx, rest[1:], stdout, stderr)
	case "demo":
		return demo(ctx, rest, stdout, stderr)
	case "rescore":
		return rescore(ctx, rest, stdout, stderr)
	case "import":
		return importFile(ctx, rest, stdout, stderr)
	case "export":
		return exportFile(ctx, rest, stdout, stderr)
	case "bench":
		switch {
		case len(rest) > 0 && rest[0] == "ingest":
			return benchIngest(ctx, rest[1:], stdout, stderr)
		case len(rest) > 0 && rest[0] == "handoff":
			return benchHandoff(ctx, rest[1:], stdout, stderr)
		}
		return errors.New("usage: tandem bench ingest|handoff [flags]")
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newFlags returns a flag set whose flags, once defined, also read TANDEM_* variables;
// call parse rather than fs.Parse.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tandem "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse applies TANDEM_* environment variables as defaults, then the command line, so
// that a flag given on the command line wins. The flags named in argsOnly are read from
// the command line alone.
func parse(fs *flag.FlagSet, args []string, argsOnly ...string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(argsOnly, f.Name) {
			return
		}
		env := "TANDEM_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		f.Usage += " (env " + env + ")"
		if v, ok := os.LookupEnv(env); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// storeFlags are the flags of every command that opens the store.
type storeFlags struct {
	db         string
	sqliteSync string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.db, "db", "tandem-data/tandem.db", "the store: a SQLite file path, or a postgres:// URL")
	fs.StringVar(&s.sqliteSync, "sqlite-sync", "normal", "SQLite durability: normal survives a crash of the process, full also a power cut")
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
