// Package compare runs the suite on two versions of the lab and compares them
// with benchstat: the machinery of alloclab compare.
//
// Each side is a results file, used as it is, the working tree ("."), or a git
// ref, checked out in a temporary git worktree that Run removes when it ends.
// For each side that runs, Run builds alloclab from its tree, then runs
// alloclab run -count 1 on every such side for Options.Count rounds,
// alternating which goes first, so a machine that drifts drifts on both. It
// gathers each side's results in OLD.txt and NEW.txt (or the files' names) and
// prints go tool benchstat -table "" OLD NEW, which it also keeps as
// benchstat.txt.
package compare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Options say what Run compares and how.
type Options struct {
	Old, New string   // results files, git refs, or "." for the working tree
	Count    int      // rounds: each runs every side that runs with -count 1
	Out      string   // folder for the results and the table; "" for a temporary one
	RunArgs  []string // flags for alloclab run on both sides
	Dir      string   // the repository; "" for the current directory
	// Stdout gets benchstat's table; Stderr the progress lines, which start
	// with "# compare: ", and the output of the builds and runs.
	Stdout, Stderr io.Writer
}

// ErrFailed says some guest failed in some round; its error went to Stderr and
// the comparison of the others stands.
var ErrFailed = errors.New("some runs failed")

// RefError says a side is neither a results file nor a git ref.
type RefError struct{ Ref, Dir string }

func (e *RefError) Error() string {
	return fmt.Sprintf("%q is neither a results file nor a git ref of %s", e.Ref, e.Dir)
}

// side is one side of a comparison: a results file, or a tree to run the suite in.
type side struct {
	label   string // the column's name in benchstat's table
	file    string // the results: given, or gathered from the runs
	tree    string // the tree to run the suite in; "" when file was given
	bin     string // alloclab built from tree
	cleanup func()
}

// Run compares o.Old and o.New.
func Run(ctx context.Context, o Options) (err error) {
	if o.Dir == "" {
		if o.Dir, err = os.Getwd(); err != nil {
			return err
		}
	}
	out := o.Out
	if out == "" {
		if out, err = os.MkdirTemp("", "alloclab-compare-"); err != nil {
			return err
		}
		defer os.RemoveAll(out)
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	out, err = filepath.Abs(out)
	if err != nil {
		return err
	}

	var sides [2]*side
	for i, ref := range []string{o.Old, o.New} {
		s, err := prepareSide(ctx, o.Stderr, o.Dir, out, ref, []string{"old", "new"}[i])
		if s != nil && s.cleanup != nil {
			defer s.cleanup()
		}
		if err != nil {
			return err
		}
		sides[i] = s
	}
	if sides[0].label == sides[1].label {
		sides[0].label, sides[1].label = "old:"+sides[0].label, "new:"+sides[1].label
	}

	// Rounds: every side that runs, -count 1 each, alternating which goes first,
	// so drift in the machine falls on both sides alike.
	failed := false
	for round := range o.Count {
		order := []*side{sides[0], sides[1]}
		if round%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, s := range order {
			if s.tree == "" {
				continue
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: %w", ctx.Err())
			}
			part := fmt.Sprintf("%s.%d.txt", strings.TrimSuffix(s.file, ".txt"), round+1)
			fmt.Fprintf(o.Stderr, "# compare: round %d of %d: %s\n", round+1, o.Count, s.label)
			args := append([]string{"run", "-count", "1"}, withBaselines(o.Dir, o.RunArgs)...)
			args = append(args, "-o", part)
			cmd := exec.CommandContext(ctx, s.bin, args...)
			cmd.Dir, cmd.Stdout, cmd.Stderr = s.tree, o.Stderr, o.Stderr
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 {
					return fmt.Errorf("compare: %s: alloclab %s: %w", s.label, strings.Join(args, " "), err)
				}
				failed = true // some guest failed: its error is above; the others' results stand
			}
			if err := appendResults(s.file, part); err != nil {
				return err
			}
			os.Remove(part)
			os.Remove(strings.TrimSuffix(part, ".txt") + ".heap.json")
		}
	}

	// One table per unit, not per configuration: the guest-NAME lines carry each
	// guest's hash, which differs between the sides whenever a guest changed.
	var table bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "tool", "benchstat", "-table", "", sides[0].label+"="+sides[0].file, sides[1].label+"="+sides[1].file)
	cmd.Dir, cmd.Stdout, cmd.Stderr = o.Dir, io.MultiWriter(o.Stdout, &table), o.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("compare: go tool benchstat: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "benchstat.txt"), table.Bytes(), 0o644); err != nil {
		return err
	}
	if failed {
		return ErrFailed
	}
	return nil
}

// prepareSide makes ready one side of a comparison: a results file is used as it
// is; "." builds alloclab from the working tree dir; anything else is a git ref,
// checked out in a temporary worktree of dir, where alloclab is built.
func prepareSide(ctx context.Context, stderr io.Writer, dir, out, ref, name string) (*side, error) {
	if st, err := os.Stat(ref); err == nil && !st.IsDir() {
		abs, err := filepath.Abs(ref)
		if err != nil {
			return nil, err
		}
		return &side{label: benchLabel(strings.TrimSuffix(filepath.Base(ref), filepath.Ext(ref))), file: abs}, nil
	}
	s := &side{label: benchLabel(ref), file: filepath.Join(out, name+".txt")}
	if err := os.Remove(s.file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if ref == "." {
		s.label, s.tree = "working-tree", dir
	} else {
		sha, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
		if err != nil {
			return nil, &RefError{Ref: ref, Dir: dir}
		}
		tmp, err := os.MkdirTemp("", "alloclab-compare-"+name+"-")
		if err != nil {
			return nil, err
		}
		s.tree = filepath.Join(tmp, "tree")
		fmt.Fprintf(stderr, "# compare: checking out %s (%.12s) in %s\n", ref, sha, s.tree)
		if _, err := git(ctx, dir, "worktree", "add", "--detach", "--quiet", s.tree, sha); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		s.cleanup = func() {
			git(context.WithoutCancel(ctx), dir, "worktree", "remove", "--force", s.tree)
			os.RemoveAll(tmp)
			git(context.WithoutCancel(ctx), dir, "worktree", "prune")
		}
	}
	s.bin = filepath.Join(out, "alloclab-"+name)
	fmt.Fprintf(stderr, "# compare: building alloclab for %s\n", s.label)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", s.bin, "./cmd/alloclab")
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.tree, stderr, stderr
	if err := cmd.Run(); err != nil {
		return s, fmt.Errorf("compare: building alloclab at %s: %w", ref, err)
	}
	return s, nil
}

// benchLabel makes a name usable as benchstat's label=path column name.
func benchLabel(s string) string {
	return strings.NewReplacer("=", "-", " ", "-").Replace(s)
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(b)), nil
}

// appendResults appends the results file part to the file dst, creating it: the
// runs of one side gathered in one file. Results files concatenate: each part
// repeats its configuration and unit lines, with the same values.
func appendResults(dst, part string) error {
	data, err := os.ReadFile(part)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// withBaselines returns run flags that make a side run the built baselines in
// dir's guests/baselines/out, unless they name a folder: a fresh worktree has none,
// and a side without them would compare a different set of guests.
func withBaselines(dir string, args []string) []string {
	for _, a := range args {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); name == "baselines" && strings.HasPrefix(a, "-") {
			return args
		}
	}
	return append([]string{"-baselines", filepath.Join(dir, "guests", "baselines", "out")}, args...)
}
