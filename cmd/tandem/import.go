package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"tandem/csvio"
	"tandem/store"
)

// importCacheSize caps the identities `tandem import` keeps in memory.
const importCacheSize = 20_000

// importGCPercent is the garbage collector's target for `tandem import`, unless GOGC
// is set: an import's live heap is small and flat (two batches of rows), so letting
// it grow to five times that before collecting costs about 40 MB more and saves a
// tenth of the command's CPU, on the cores the store's writer needs.
const importGCPercent = 400

// importFile imports a CSV file of contacts, accounts or opportunities with a progress
// bar by bytes read. The rows it cannot import go to an error report, and make the exit
// status non-zero.
func importFile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	var sf storeFlags
	sf.register(fs)
	var (
		mapping = fs.String("map", "", `how to read columns the importer does not recognise, as "Column=field,Other column=ignore" (or =trait:KEY)`)
		report  = fs.String("errors", "", "where to write the rows that were not imported (default FILE.errors.csv)")
		dryRun  = fs.Bool("dry-run", false, "show what each column maps to and check every row; write nothing")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tandem import contacts|accounts|opportunities FILE [flags]")
		fs.PrintDefaults()
	}
	object, path, err := objectAndFile(fs, args, "map", "errors", "dry-run")
	if err != nil {
		return err
	}
	if path == "" {
		fs.Usage()
		return errors.New("name the file to import")
	}
	overrides, err := csvio.ParseOverrides(*mapping)
	if err != nil {
		return fmt.Errorf("--map: %w", err)
	}
	if *report == "" {
		*report = path + ".errors.csv"
	}

	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	bar := newProgress(stderr, "importing "+string(object), "bytes", size, 0)
	r, err := csvio.NewReader(&countingReader{r: f, add: bar.Add}, object, overrides)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	preview := stderr
	if *dryRun {
		preview = stdout
	}
	if err := r.Mapping().WritePreview(preview); err != nil {
		return err
	}

	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(importGCPercent)
	}
	// The people of a file are new to the identity cache, which helps the ingest of their
	// later events, not the import: a small one keeps the command's memory flat.
	db, err := openStoreWith(ctx, sf, nil, store.Options{Ingester: !*dryRun, CacheSize: importCacheSize})
	if err != nil {
		if !*dryRun && !store.IsPostgres(sf.db) {
			return fmt.Errorf("%w (or import through the running server: POST /api/v1/imports/%s)", err, object)
		}
		return err
	}
	defer db.Close()

	errs := &errorReport{path: *report}
	var rows atomic.Int64
	bar.extra = func() string { return commas(rows.Load()) + " rows" }
	bar.Start()
	sum, err := db.Import(ctx, r, store.ImportOptions{
		DryRun:   *dryRun,
		RowError: errs.write,
		Progress: func(s store.ImportSummary) { rows.Store(s.Rows) },
	})
	if sum != nil {
		rows.Store(sum.Rows)
	}
	bar.Finish()
	if cerr := errs.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	if *dryRun {
		fmt.Fprintf(stdout, "dry run of %s: %s rows read: %s valid, %s failed; nothing was written\n",
			path, commas(sum.Rows), commas(sum.Valid), commas(sum.Failed))
	} else {
		fmt.Fprintf(stdout, "%s: %s rows read: %s created, %s updated, %s unchanged, %s failed\n",
			path, commas(sum.Rows), commas(sum.Created), commas(sum.Updated), commas(sum.Unchanged), commas(sum.Failed))
	}
	if sum.Failed > 0 {
		fmt.Fprintf(stdout, "the rows not imported, with why, are in %s\n", errs.path)
		return fmt.Errorf("%s of %s rows were not imported; see %s", commas(sum.Failed), commas(sum.Rows), errs.path)
	}
	return nil
}

// objectAndFile parses a command's arguments: an object, a file (or none), and flags,
// which may come before or after the file. The flags named in argsOnly read no
// environment variable.
func objectAndFile(fs *flag.FlagSet, args []string, argsOnly ...string) (csvio.Object, string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return "", "", errors.New("name what to import or export: contacts, accounts or opportunities")
	}
	object, err := csvio.ParseObject(args[0])
	if err != nil {
		return "", "", err
	}
	if err := parse(fs, args[1:], argsOnly...); err != nil {
		return "", "", err
	}
	var file string
	if rest := fs.Args(); len(rest) > 0 {
		file = rest[0]
		if err := fs.Parse(rest[1:]); err != nil { // flags after the file
			return "", "", err
		}
		if fs.NArg() > 0 {
			return "", "", fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
		}
	}
	return object, file, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r   io.Reader
	add func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(int64(n))
	return n, err
}

// errorReport writes the rows an import refused to a file, created with the first one.
// A report left by an earlier run of the same import is removed when this run has none,
// so that what is there is always this run's.
type errorReport struct {
	path string
	f    *os.File
	buf  *bufio.Writer
	w    *csvio.ErrorWriter
}

func (r *errorReport) write(e *csvio.RowError) error {
	if r.w == nil {
		f, err := os.Create(r.path)
		if err != nil {
			return fmt.Errorf("error report: %w", err)
		}
		r.f, r.buf = f, bufio.NewWriter(f)
		if r.w, err = csvio.NewErrorWriter(r.buf); err != nil {
			return fmt.Errorf("error report: %w", err)
		}
	}
	return r.w.Write(e)
}

func (r *errorReport) close() error {
	if r.w == nil {
		if err := os.Remove(r.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the earlier error report: %w", err)
		}
		return nil
	}
	err := r.w.Flush()
	if err == nil {
		err = r.buf.Flush()
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("error report: %w", err)
	}
	return nil
}

// exportFile writes every contact, account or opportunity as CSV, to a file or stdout.
func exportFile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "the file to write (default: standard output)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tandem export contacts|accounts|opportunities [--out FILE] [flags]")
		fs.PrintDefaults()
	}
	object, extra, err := objectAndFile(fs, args, "out")
	if err != nil {
		return err
	}
	if extra != "" {
		return fmt.Errorf("unexpected argument %q: name the file with --out", extra)
	}
	db, err := openStore(ctx, sf, nil, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if *out == "" {
		w := bufio.NewWriterSize(stdout, 64<<10)
		if _, err := db.Export(ctx, object, w); err != nil {
			return err
		}
		return w.Flush()
	}
	// Written beside the file and renamed once complete, so that a failed export never
	// leaves half a file under the name.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".tandem-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 64<<10)
	n, err := db.Export(ctx, object, w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s %s to %s\n", commas(n), object, *out)
	return nil
}
