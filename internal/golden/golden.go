// Package golden runs golden-file tests: a test reads each case of a
// corpus, produces its output, and the output must equal, byte for byte,
// what the case file expects. With -update the expectations are rewritten
// instead (go/printer's loop; caddy's adapt tests for one file per case).
//
// A case is either
//
//   - an archive, a file whose name ends in .txtar (golang.org/x/tools/txtar):
//     a comment, then "-- name --" sections, some of them inputs and the
//     others the outputs the test produces (named "want" unless the
//     corpus says otherwise); or
//   - a pair: any other file is the "input" section as it is, byte for byte,
//     and the sibling file with the extension replaced by .golden is its
//     "want" section (testdata/kata/x.kata and testdata/kata/x.golden).
//
// A test is one call:
//
//	func TestGolden(t *testing.T) {
//		t.Parallel()
//		golden.Run(t, "testdata/cases/*.txtar", func(t *testing.T, f *golden.File) golden.Got {
//			src, _ := f.Section("input")
//			return golden.Got{"want": render(src)}
//		})
//	}
//
// and go test ./pkg -run Golden -update rewrites the expected sections (the
// flag is defined in the test binary of every package that imports golden).
//
// Line endings: archives and .golden files are read with CRLF turned into
// LF, so a checkout that converts line endings (core.autocrlf) still
// passes; the input file of a pair is left as it is, so a case may test
// carriage returns there. An archive section always ends in a line feed, so
// one is added to an output that lacks it.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// update is the -update flag: rewrite the outputs instead of comparing them.
var update = flag.Bool("update", false, "rewrite the expected output of golden files (internal/golden)")

// Updating reports whether the test binary runs with -update, in which case
// Run rewrites the expected outputs instead of comparing them.
func Updating() bool { return *update }

// Got holds what a test produced for one case: the content of each output
// section, by section name.
type Got map[string]string

// A Test produces the outputs of one case. It runs in its own parallel
// subtest and may fail t itself (require) for problems that are not
// differences in output; Run then neither compares nor rewrites the case.
type Test func(t *testing.T, f *File) Got

// A Corpus is a set of golden files and the names of their output sections.
type Corpus struct {
	// Glob selects the case files, relative to the test's package
	// directory (filepath.Glob), e.g. "../testdata/kata/*.kata". Files
	// ending in .golden never are cases.
	Glob string
	// Outputs names the sections a Test may return. A case that has one
	// of them although the Test did not return it is stale: it fails, and
	// -update deletes the section. Optional. Default: "want". A corpus of
	// pairs has exactly one output, "want", held by the .golden file.
	Outputs []string
}

// Run runs test on every file that glob matches, whose one output section
// is "want". See Corpus.Run.
func Run(t *testing.T, glob string, test Test) {
	t.Helper()
	Corpus{Glob: glob}.Run(t, test)
}

// Run runs test on every file of the corpus, each in a parallel subtest
// named after the file (its base name without the extension). It compares
// each section test returns with the file's and reports the differences as
// a line diff, or with -update writes the returned sections into the file.
// An archive must also be in canonical form: formatting it after parsing
// must give it back, so that -update changes nothing but outputs. Run fails
// t if the glob matches no file.
func (c Corpus) Run(t *testing.T, test Test) {
	t.Helper()
	outputs := c.Outputs
	if len(outputs) == 0 {
		outputs = []string{"want"}
	}
	matches, err := filepath.Glob(c.Glob)
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	files := slices.DeleteFunc(matches, func(p string) bool { return filepath.Ext(p) == ".golden" })
	if len(files) == 0 {
		t.Fatalf("golden: no file matches %s", c.Glob)
	}
	for _, path := range files {
		if !isArchive(path) && !slices.Equal(outputs, []string{"want"}) {
			t.Fatalf("golden: %s is a pair, whose only output is \"want\", but the corpus names %q", path, outputs)
		}
		t.Run(caseName(path), func(t *testing.T) {
			t.Parallel()
			f, err := Read(path)
			if err != nil {
				t.Fatalf("golden: %v", err)
			}
			got := test(t, f)
			if t.Failed() {
				return // the test reported why; its output may be incomplete
			}
			res, err := f.check(outputs, got)
			if err != nil {
				t.Fatalf("golden: %s: %v", path, err)
			}
			if *update {
				if err := f.write(res.file); err != nil {
					t.Fatalf("golden: %v", err)
				}
				if res.file != nil {
					t.Logf("golden: rewrote %s", f.goldenPath())
				}
				return
			}
			for _, p := range res.problems {
				t.Errorf("%s: %s", path, p)
			}
			if len(res.problems) > 0 {
				t.Logf("go test -run '%s' -update rewrites %s", t.Name(), f.goldenPath())
			}
		})
	}
}

// caseName is the subtest name of a case file.
func caseName(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func isArchive(path string) bool { return filepath.Ext(path) == ".txtar" }

// A Section is one named part of a case.
type Section struct {
	// Name is the section's name, from its "-- name --" line.
	Name string
	// Data is the section's content. In an archive it is empty or ends in
	// a line feed.
	Data string
}

// A File is one golden case, as read from disk.
type File struct {
	// Path is the case file: the archive, or the input of a pair.
	Path string
	// Name is the case's name, the file's base name without its
	// extension, which also names its subtest.
	Name string
	// Comment is the text of an archive before its first section.
	Comment string
	// Sections are the archive's sections in file order; for a pair,
	// "input" and, once the .golden file exists, "want".
	Sections []Section
	// raw is the archive as read (CRLF turned into LF), to check that
	// Format reproduces it.
	raw []byte
}

// Read reads the case at path: an archive if the name ends in .txtar, else
// the input of a pair and its .golden file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if isArchive(path) {
		f := Parse(data)
		f.Path, f.Name = path, caseName(path)
		return f, nil
	}
	f := &File{Path: path, Name: caseName(path), Sections: []Section{{Name: "input", Data: string(data)}}}
	want, err := os.ReadFile(f.goldenPath())
	switch {
	case err == nil:
		f.Sections = append(f.Sections, Section{Name: "want", Data: string(crlfToLF(want))})
	case !os.IsNotExist(err):
		return nil, err
	}
	return f, nil
}

// Parse parses an archive (its Path and Name are left empty).
func Parse(data []byte) *File {
	data = crlfToLF(data)
	a := parseArchive(data)
	f := &File{Comment: string(a.Comment), raw: data}
	for _, s := range a.Files {
		f.Sections = append(f.Sections, Section{Name: s.Name, Data: string(s.Data)})
	}
	return f
}

// Format returns the archive form of f. For an archive that Run accepts,
// Format(Parse(data)) is data.
func (f *File) Format() []byte { return formatArchive(f) }

// Section returns the content of the named section as it is in the file
// (with its final line feed) and whether the file has it.
func (f *File) Section(name string) (string, bool) {
	for _, s := range f.Sections {
		if s.Name == name {
			return s.Data, true
		}
	}
	return "", false
}

// Text returns the content of the named section without its final line
// feed, which the archive format adds: the text as the author wrote it. It
// returns "" if the file has no such section.
func (f *File) Text(name string) string {
	s, _ := f.Section(name)
	return strings.TrimSuffix(s, "\n")
}

// Contains reports whether the comment or a section contains s.
func (f *File) Contains(s string) bool {
	if strings.Contains(f.Comment, s) {
		return true
	}
	for _, sec := range f.Sections {
		if strings.Contains(sec.Data, s) {
			return true
		}
	}
	return false
}

// goldenPath is the file that holds f's outputs.
func (f *File) goldenPath() string {
	if isArchive(f.Path) {
		return f.Path
	}
	return strings.TrimSuffix(f.Path, filepath.Ext(f.Path)) + ".golden"
}

// checked is the outcome of comparing a test's outputs with a case.
type checked struct {
	// problems describe the differences, one per section, diffs included.
	problems []string
	// file is what the case file should hold: the archive with the outputs
	// rewritten, or the .golden file of a pair. It is nil when the file
	// already is as it should be.
	file []byte
}

// check compares got with f's output sections. An error means got cannot
// be compared or stored: a section the corpus does not name, or content an
// archive cannot hold.
func (f *File) check(outputs []string, got Got) (checked, error) {
	var res checked
	for name, data := range got {
		if !slices.Contains(outputs, name) {
			return res, fmt.Errorf("the test returned section %q, which is not one of the corpus's outputs %q", name, outputs)
		}
		if strings.Contains(data, "\r\n") {
			return res, fmt.Errorf("section %q holds a CRLF line ending, which a golden file cannot keep; quote it", name)
		}
		if isArchive(f.Path) && hasMarker(data) {
			return res, fmt.Errorf("section %q holds a \"-- name --\" line, which would end it in the archive; quote it", name)
		}
	}
	if len(got) == 0 {
		return res, fmt.Errorf("the test returned no output")
	}

	want := &File{Path: f.Path, Comment: f.Comment, Sections: slices.Clone(f.Sections)}
	for _, name := range outputs {
		data, produced := got[name]
		old, had := f.Section(name)
		switch {
		case produced:
			if isArchive(f.Path) && data != "" && !strings.HasSuffix(data, "\n") {
				data += "\n"
			}
			if !had {
				res.problems = append(res.problems, fmt.Sprintf("no %s; the test gives:\n%s", f.label(name), indent(data)))
			} else if old != data {
				res.problems = append(res.problems, fmt.Sprintf("%s differs (-want +got):\n%s", f.label(name), Diff(old, data)))
			}
			want.set(name, data)
		case had:
			res.problems = append(res.problems, fmt.Sprintf("%s is stale: the test no longer gives it", f.label(name)))
			want.delete(name)
		}
	}

	if !isArchive(f.Path) {
		if len(res.problems) > 0 {
			w, _ := want.Section("want")
			res.file = []byte(w)
		}
		return res, nil
	}
	if formatted := f.Format(); !bytes.Equal(formatted, f.raw) {
		res.problems = append(res.problems, "not in canonical txtar form (a section without its final line feed?); -update rewrites it")
	}
	if len(res.problems) > 0 {
		res.file = want.Format()
	}
	return res, nil
}

// label names an output section in messages: "-- want -- section" in an
// archive, the .golden file of a pair.
func (f *File) label(name string) string {
	if isArchive(f.Path) {
		return "-- " + name + " -- section"
	}
	return filepath.Base(f.goldenPath())
}

// set replaces the named section's content, or appends the section.
func (f *File) set(name, data string) {
	for i := range f.Sections {
		if f.Sections[i].Name == name {
			f.Sections[i].Data = data
			return
		}
	}
	f.Sections = append(f.Sections, Section{Name: name, Data: data})
}

// delete removes the named section.
func (f *File) delete(name string) {
	f.Sections = slices.DeleteFunc(f.Sections, func(s Section) bool { return s.Name == name })
}

// write stores data as f's golden file, if data is not nil.
func (f *File) write(data []byte) error {
	if data == nil {
		return nil
	}
	return os.WriteFile(f.goldenPath(), data, 0o644)
}

// hasMarker reports whether s has a line that an archive reads as a
// section marker.
func hasMarker(s string) bool {
	for line := range strings.Lines(s) {
		if _, ok := markerName(strings.TrimSuffix(line, "\n")); ok {
			return true
		}
	}
	return false
}

func crlfToLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// indent prefixes every line of s with a tab, for showing it in a message.
func indent(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString("\t" + line)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
