package golden

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines shown around a change.
const diffContext = 3

// maxDiffCells bounds the work of the longest-common-subsequence table; a
// larger changed region is shown as all removed, then all added.
const maxDiffCells = 1 << 22

// Diff returns a unified line diff from want to got: hunks headed
// "@@ -line,count +line,count @@", lines marked " ", "-" (only in want) or
// "+" (only in got), with a note under a last line that has no line feed.
// It returns "" if want and got are equal.
func Diff(want, got string) string {
	if want == got {
		return ""
	}
	a, b := splitLines(want), splitLines(got)
	ops := diffLines(a, b)

	var out strings.Builder
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk runs from diffContext lines before this change to
		// diffContext lines after the last change that is at most
		// 2*diffContext unchanged lines further.
		start := max(i-diffContext, 0)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*diffContext {
				break
			}
		}
		end = min(end+diffContext, len(ops))
		h := ops[start:end]
		wantLine, gotLine := h[0].a+1, h[0].b+1
		var nWant, nGot int
		for _, op := range h {
			if op.kind != '+' {
				nWant++
			}
			if op.kind != '-' {
				nGot++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", wantLine, nWant, gotLine, nGot)
		for _, op := range h {
			var line string
			if op.kind == '-' {
				line = a[op.a]
			} else {
				line = b[op.b]
			}
			out.WriteByte(op.kind)
			out.WriteString(line)
			if !strings.HasSuffix(line, "\n") {
				out.WriteString("\n\\ no line feed at the end\n")
			}
		}
		i = end
	}
	return out.String()
}

// splitLines splits s into lines that keep their line feed.
func splitLines(s string) []string {
	var lines []string
	for line := range strings.Lines(s) {
		lines = append(lines, line)
	}
	return lines
}

// diffOp is one line of an edit script: kind ' ' (in both), '-' (a[a]
// only) or '+' (b[b] only). a and b are the line's index in a and b; for a
// '+' line, a is the index of the next line of a, and the other way round.
type diffOp struct {
	kind byte
	a, b int
}

// diffLines returns an edit script from a to b: the longest common
// subsequence of lines kept, after taking out the common prefix and suffix.
func diffLines(a, b []string) []diffOp {
	var ops []diffOp
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		ops = append(ops, diffOp{' ', pre, pre})
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]

	if len(ma)*len(mb) > maxDiffCells {
		for i := range ma {
			ops = append(ops, diffOp{'-', pre + i, pre})
		}
		for j := range mb {
			ops = append(ops, diffOp{'+', pre + len(ma), pre + j})
		}
	} else {
		// lcs[i][j] is the length of the longest common subsequence of
		// ma[i:] and mb[j:].
		lcs := make([][]int, len(ma)+1)
		for i := range lcs {
			lcs[i] = make([]int, len(mb)+1)
		}
		for i := len(ma) - 1; i >= 0; i-- {
			for j := len(mb) - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(ma) || j < len(mb) {
			switch {
			case i < len(ma) && j < len(mb) && ma[i] == mb[j]:
				ops = append(ops, diffOp{' ', pre + i, pre + j})
				i++
				j++
			case j == len(mb) || i < len(ma) && lcs[i+1][j] >= lcs[i][j+1]:
				ops = append(ops, diffOp{'-', pre + i, pre + j})
				i++
			default:
				ops = append(ops, diffOp{'+', pre + i, pre + j})
				j++
			}
		}
	}
	for k := suf; k > 0; k-- {
		ops = append(ops, diffOp{' ', len(a) - k, len(b) - k})
	}
	return ops
}
