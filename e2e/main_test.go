package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	// moduleRoot is the folder of the repository's go.mod.
	moduleRoot string
	// binDir is a temporary folder for the tandem binary, removed after the tests.
	binDir string

	build struct {
		once sync.Once
		bin  string
		err  error
	}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if moduleRoot, err = findModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if binDir, err = os.MkdirTemp("", "tandem-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(binDir)
	return m.Run()
}

// tandemBinary returns the tandem binary built from this checkout, building it on first
// use, once for all the tests.
func tandemBinary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		if build.err = noteSources(moduleRoot); build.err == nil {
			build.bin, build.err = buildTandem(moduleRoot, binDir)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.bin
}

// findModuleRoot asks the go command where go.mod is, so that the tests work from any
// checkout.
func findModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// noteSources stats every file of the repository. The binary these tests run is built by
// a child process, which go test does not watch; the files a test itself stats are part
// of its cache key, so a change anywhere in the server makes go test run these tests
// again instead of reporting a stale cached result.
func noteSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "tandem-data", "test-output":
				return filepath.SkipDir
			}
			return nil
		}
		_, err = os.Stat(path)
		return err
	})
}

// buildTandem builds ./cmd/tandem into dir.
func buildTandem(root, dir string) (string, error) {
	bin := filepath.Join(dir, "tandem")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tandem")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/tandem: %w\n%s", err, out.Bytes())
	}
	return bin, nil
}
