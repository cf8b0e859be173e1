package manifest

import (
	"fmt"
	"strings"

	"github.com/kylelemons/godebug/diff"
)

// diffContext is how many unchanged lines a hunk shows around a change.
const diffContext = 3

// unified is a unified diff of two texts, with label in its header, or ""
// when they are equal.
func unified(label, old, new string) string {
	if old == new {
		return ""
	}
	a, b := splitLines(old), splitLines(new)
	type line struct {
		op   byte // ' ', '-', '+'
		text string
	}
	var lines []line
	for _, c := range diff.DiffChunks(a, b) {
		for _, l := range c.Deleted {
			lines = append(lines, line{'-', l})
		}
		for _, l := range c.Added {
			lines = append(lines, line{'+', l})
		}
		for _, l := range c.Equal {
			lines = append(lines, line{' ', l})
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s (now)\n+++ %s (manifest)\n", label, label)
	// Hunks: runs of changes less than 2*diffContext equal lines apart,
	// with diffContext equal lines around them.
	n := len(lines)
	for i := 0; i < n; {
		for i < n && lines[i].op == ' ' {
			i++
		}
		if i == n {
			break
		}
		start, last := max(0, i-diffContext), i
		for j := i + 1; j < n; j++ {
			if lines[j].op != ' ' {
				last = j
			} else if j-last > 2*diffContext {
				break
			}
		}
		end := min(n, last+diffContext+1)
		aStart, bStart := 1, 1
		for _, l := range lines[:start] {
			if l.op != '+' {
				aStart++
			}
			if l.op != '-' {
				bStart++
			}
		}
		aLen, bLen := 0, 0
		for _, l := range lines[start:end] {
			if l.op != '+' {
				aLen++
			}
			if l.op != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, l := range lines[start:end] {
			out.WriteByte(l.op)
			out.WriteString(l.text)
			out.WriteByte('\n')
		}
		i = end
	}
	if old != "" && new != "" && strings.HasSuffix(old, "\n") != strings.HasSuffix(new, "\n") {
		out.WriteString("\\ one text ends with a line feed, the other does not\n")
	}
	return out.String()
}

// hunkRange is a unified diff's range: "start,len", or "start" for one
// line (start is the line before an empty range, as diff writes it).
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

// splitLines splits a text into its lines (a last line feed ends the last
// line rather than starting an empty one).
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// scalarDiff is a change of a one-line field, as diff lines.
func scalarDiff(field, old, new string) string {
	return fmt.Sprintf("-%s: %s\n+%s: %s\n", field, old, field, new)
}
