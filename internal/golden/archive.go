package golden

import (
	"strings"

	"golang.org/x/tools/txtar"
)

// parseArchive parses data (LF line endings) as a txtar archive.
func parseArchive(data []byte) *txtar.Archive { return txtar.Parse(data) }

// formatArchive formats f as a txtar archive.
func formatArchive(f *File) []byte {
	a := &txtar.Archive{Comment: []byte(f.Comment)}
	for _, s := range f.Sections {
		a.Files = append(a.Files, txtar.File{Name: s.Name, Data: []byte(s.Data)})
	}
	return txtar.Format(a)
}

// markerName returns the name of a "-- name --" line (without its line
// feed) and whether it is one, as txtar reads it.
func markerName(line string) (string, bool) {
	if !strings.HasPrefix(line, "-- ") || !strings.HasSuffix(line, " --") || len(line) < len("-- ")+len(" --") {
		return "", false
	}
	return strings.TrimSpace(line[len("-- ") : len(line)-len(" --")]), true
}
