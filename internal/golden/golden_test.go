package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	t.Parallel()

	const archive = "A comment.\n-- input --\nx\n-- want --\nX\n"

	for _, tc := range []struct {
		name     string
		path     string // default "case.txtar"
		data     string
		outputs  []string // default "want"
		got      Got
		problems []string // substrings, one per problem
		file     string   // the rewritten file; "" when it is unchanged
		err      string
	}{
		{name: "Equal", data: archive, got: Got{"want": "X\n"}},
		{name: "FinalLineFeedAdded", data: archive, got: Got{"want": "X"}},
		{
			name: "Differs", data: archive, got: Got{"want": "Y\n"},
			problems: []string{"-- want -- section differs (-want +got):\n@@ -1,1 +1,1 @@\n-X\n+Y\n"},
			file:     "A comment.\n-- input --\nx\n-- want --\nY\n",
		},
		{
			name: "Missing", data: "-- input --\nx\n", got: Got{"want": "X\n"},
			problems: []string{"no -- want -- section; the test gives:\n\tX"},
			file:     "-- input --\nx\n-- want --\nX\n",
		},
		{
			name: "Stale", data: "-- template --\nx\n-- output --\nX\n", outputs: []string{"output", "error"},
			got:      Got{"error": "bad\n"},
			problems: []string{"-- output -- section is stale", "no -- error -- section"},
			file:     "-- template --\nx\n-- error --\nbad\n",
		},
		{
			name: "NotCanonical", data: "-- input --\nx\n-- want --\nX", got: Got{"want": "X\n"},
			problems: []string{"not in canonical txtar form"},
			file:     archive[len("A comment.\n"):],
		},
		{name: "CRLFRead", data: strings.ReplaceAll(archive, "\n", "\r\n"), got: Got{"want": "X\n"}},
		{name: "CRLFGot", data: archive, got: Got{"want": "X\r\nY\r\n"}, err: "CRLF"},
		{name: "MarkerGot", data: archive, got: Got{"want": "-- x --\n"}, err: `"-- name --" line`},
		{name: "UnknownOutput", data: archive, got: Got{"output": "X\n"}, err: `section "output", which is not one of`},
		{name: "NoOutput", data: archive, got: Got{}, err: "no output"},
		{name: "PairEqual", path: "case.kata", data: "X", got: Got{"want": "X"}},
		{
			name: "PairDiffers", path: "case.kata", data: "X\n", got: Got{"want": "Y"},
			problems: []string{"case.golden differs (-want +got):\n@@ -1,1 +1,1 @@\n-X\n+Y\n\\ no line feed at the end\n"},
			file:     "Y",
		},
		{name: "PairMarkerGot", path: "case.kata", data: "X\n", got: Got{"want": "-- x --\n"}, problems: []string{"differs"}, file: "-- x --\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := tc.path
			if path == "" {
				path = "case.txtar"
			}
			outputs := tc.outputs
			if outputs == nil {
				outputs = []string{"want"}
			}
			var f *File
			if isArchive(path) {
				f = Parse([]byte(tc.data))
				f.Path = path
			} else {
				f = &File{Path: path, Sections: []Section{{"input", "in"}, {"want", tc.data}}}
			}
			res, err := f.check(outputs, tc.got)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, res.problems, len(tc.problems), "%q", res.problems)
			for i, p := range tc.problems {
				require.Contains(t, res.problems[i], p)
			}
			if tc.file == "" {
				require.Nil(t, res.file)
			} else {
				require.Equal(t, tc.file, string(res.file))
			}
		})
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()

	lines := func(from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			b.WriteString(strings.Repeat("l", i) + "\n")
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, want, got, diff string
	}{
		{name: "Equal", want: "a\n", got: "a\n", diff: ""},
		{name: "Added", want: "a\nc\n", got: "a\nb\nc\n", diff: "@@ -1,2 +1,3 @@\n a\n+b\n c\n"},
		{name: "Removed", want: "a\nb\nc\n", got: "a\nc\n", diff: "@@ -1,3 +1,2 @@\n a\n-b\n c\n"},
		{name: "FromEmpty", want: "", got: "a\n", diff: "@@ -1,0 +1,1 @@\n+a\n"},
		{name: "NoFinalLineFeed", want: "a\n", got: "a", diff: "@@ -1,1 +1,1 @@\n-a\n+a\n\\ no line feed at the end\n"},
		{
			name: "ContextAndTwoHunks",
			want: lines(1, 20),
			got:  strings.Replace(strings.Replace(lines(1, 20), "lll\n", "x\n", 1), "lllllllllllllllll\n", "y\n", 1),
			diff: "@@ -1,6 +1,6 @@\n l\n ll\n-lll\n+x\n llll\n lllll\n llllll\n" +
				"@@ -14,7 +14,7 @@\n " + strings.Repeat("l", 14) + "\n " + strings.Repeat("l", 15) + "\n " + strings.Repeat("l", 16) +
				"\n-" + strings.Repeat("l", 17) + "\n+y\n " + strings.Repeat("l", 18) + "\n " + strings.Repeat("l", 19) + "\n " + strings.Repeat("l", 20) + "\n",
		},
		{
			name: "NearbyChangesShareAHunk",
			want: "a\nb\nc\nd\ne\n",
			got:  "A\nb\nc\nd\nE\n",
			diff: "@@ -1,5 +1,5 @@\n-a\n+A\n b\n c\n d\n-e\n+E\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.diff, Diff(tc.want, tc.got))
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name, data string
		comment    string
		sections   []Section
		canonical  bool
	}{
		{name: "Empty", data: "", canonical: true},
		{name: "CommentOnly", data: "just words\n", comment: "just words\n", canonical: true},
		{
			name: "Sections", data: "c\n-- a --\n1\n--  b  --\n-- c --\n3\n",
			comment: "c\n", sections: []Section{{"a", "1\n"}, {"b", ""}, {"c", "3\n"}},
		},
		{
			name: "Canonical", data: "c\n-- a --\n1\n-- b --\n-- c --\n3\n",
			comment: "c\n", sections: []Section{{"a", "1\n"}, {"b", ""}, {"c", "3\n"}}, canonical: true,
		},
		{name: "CRLF", data: "-- a --\r\n1\r\n", sections: []Section{{"a", "1\n"}}, canonical: true},
		{name: "NoFinalLineFeed", data: "-- a --\n1", sections: []Section{{"a", "1\n"}}},
		{name: "NotAMarker", data: "-- a --\n--a --\n-- b--\n", sections: []Section{{"a", "--a --\n-- b--\n"}}, canonical: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := Parse([]byte(tc.data))
			require.Equal(t, tc.comment, f.Comment)
			require.Equal(t, tc.sections, f.Sections)
			require.Equal(t, tc.canonical, string(f.Format()) == strings.ReplaceAll(tc.data, "\r\n", "\n"))
			// Formatting is idempotent: the formatted archive parses to
			// the same file and formats the same again.
			again := Parse(f.Format())
			require.Equal(t, f.Comment, again.Comment)
			require.Equal(t, string(f.Format()), string(again.Format()))
		})
	}
}

func TestRead(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
		return path
	}

	t.Run("Pair", func(t *testing.T) {
		t.Parallel()
		f, err := Read(write("pair.kata", "a: x\r\n  b"))
		require.NoError(t, err)
		require.Equal(t, []Section{{"input", "a: x\r\n  b"}}, f.Sections, "an input is read as it is; no golden file yet")
		write("pair2.kata", "in\r\n")
		write("pair2.golden", "out\r\nput")
		f, err = Read(filepath.Join(dir, "pair2.kata"))
		require.NoError(t, err)
		require.Equal(t, []Section{{"input", "in\r\n"}, {"want", "out\nput"}}, f.Sections)
		require.Equal(t, filepath.Join(dir, "pair2.golden"), f.goldenPath())
		require.Equal(t, "pair2", f.Name)
	})

	t.Run("Archive", func(t *testing.T) {
		t.Parallel()
		f, err := Read(write("case.txtar", "Comment $X.\r\n-- in --\r\nx\r\n"))
		require.NoError(t, err)
		require.Equal(t, "Comment $X.\n", f.Comment)
		s, ok := f.Section("in")
		require.True(t, ok)
		require.Equal(t, "x\n", s)
		require.Equal(t, "x", f.Text("in"))
		_, ok = f.Section("want")
		require.False(t, ok)
		require.Empty(t, f.Text("want"))
		require.True(t, f.Contains("$X"))
		require.False(t, f.Contains("$Y"))
		require.Equal(t, f.Path, f.goldenPath())
		require.Equal(t, "case", f.Name)
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		_, err := Read(filepath.Join(dir, "none.txtar"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

// TestRun runs a small corpus of both layouts; every case matches, so the
// run passes with and without -update and leaves the files as they are.
func TestRun(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	files := map[string]string{
		"upper.txtar":  "Outputs are the input in upper case.\n-- input --\nabc\n-- want --\nABC\n",
		"empty.txtar":  "-- input --\n-- want --\n",
		"pair.in":      "xyz",
		"pair.golden":  "XYZ",
		"other.golden": "not a case",
	}
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	// Not parallel: the files are checked once all cases have run.
	t.Run("Cases", func(t *testing.T) {
		Run(t, filepath.Join(dir, "*"), func(t *testing.T, f *File) Got {
			in, ok := f.Section("input")
			require.True(t, ok)
			return Got{"want": strings.ToUpper(in)}
		})
	})
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, data, string(got))
	}
}
