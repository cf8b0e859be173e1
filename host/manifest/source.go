package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Source is a manifest directory's files.
type Source interface {
	// Manifests lists the manifest files (top-level *.yaml and *.yml not
	// starting with a dot), sorted.
	Manifests() ([]string, error)
	// ReadFile reads a file by its name relative to the directory,
	// "/"-separated.
	ReadFile(name string) ([]byte, error)
}

// isManifest reports whether a top-level file name is a manifest.
func isManifest(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return !strings.HasPrefix(name, ".") && !strings.Contains(name, "/") && (ext == ".yaml" || ext == ".yml")
}

// maxFileBytes bounds a file of a manifest directory.
const maxFileBytes = 4 << 20

// Dir is the Source of a directory on disk. Its files are read when asked
// for, following symbolic links (a Kubernetes ConfigMap's files are links
// into its ..data directory).
func Dir(dir string) Source { return dirSource(dir) }

type dirSource string

func (d dirSource) Manifests() ([]string, error) {
	entries, err := os.ReadDir(string(d))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !isManifest(e.Name()) {
			continue
		}
		// A link to a directory is not a manifest.
		if fi, err := os.Stat(filepath.Join(string(d), e.Name())); err == nil && fi.IsDir() {
			continue
		}
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out, nil
}

func (d dirSource) ReadFile(name string) ([]byte, error) {
	if err := checkRelative(name); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxFileBytes)
	}
	return b, nil
}

// Files is the Source of files given by name ("/"-separated, relative to
// the directory), as POST /api/v1/manifests/apply receives them.
func Files(files map[string]string) Source { return mapSource(files) }

type mapSource map[string]string

func (m mapSource) Manifests() ([]string, error) {
	var out []string
	for name := range m {
		if isManifest(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (m mapSource) ReadFile(name string) ([]byte, error) {
	if err := checkRelative(name); err != nil {
		return nil, err
	}
	s, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w (it was not sent with the manifests)", name, fs.ErrNotExist)
	}
	if len(s) > maxFileBytes { // as a directory's files
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxFileBytes)
	}
	return []byte(s), nil
}

// checkRelative refuses a file name that is absolute or leaves the
// directory.
func checkRelative(name string) error {
	if name == "" || path.IsAbs(name) || filepath.IsAbs(name) || strings.Contains(name, `\`) || !fs.ValidPath(name) {
		return fmt.Errorf("%q must be a path relative to the manifest directory, inside it (such as orders.kata or scripts/orders.kata)", name)
	}
	return nil
}

// ReadDir reads the files a manifest directory's manifests use: every
// manifest and every file they name (script_file, policy_kata_file,
// event_kata_file), for a client to send them to the server. A file that
// cannot be read (too large, not UTF-8 text, not permitted) is left out
// and reported: ReadDir returns the files it read and, when some could
// not be, Problems naming every one of them, so that a caller can report
// them with the problems Parse finds in the others, all at once. Problems
// of the manifests themselves are left to Parse.
func ReadDir(dir string) (map[string]string, error) {
	src := Dir(dir)
	names, err := src.Manifests()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var probs Problems
	read := func(name string, missingOK bool) {
		b, err := src.ReadFile(name)
		if err == nil && !utf8.Valid(b) {
			err = fmt.Errorf("%s is not UTF-8 text", name)
		}
		switch {
		case err == nil:
			out[name] = string(b)
		case missingOK && errors.Is(err, fs.ErrNotExist):
			// Parse reports it where the manifest names it.
		default:
			probs = append(probs, Problem{Pos: Pos{File: name}, Msg: err.Error()})
		}
	}
	for _, n := range names {
		read(n, false)
	}
	set, _ := Parse(src)
	if set != nil {
		for _, f := range set.files {
			if _, ok := out[f]; !ok && checkRelative(f) == nil && !slices.Contains(names, f) {
				read(f, true)
			}
		}
	}
	if len(probs) > 0 {
		return out, probs
	}
	return out, nil
}
