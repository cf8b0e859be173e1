package templates

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// htmlToTextAllocPerByte bounds the bytes html_to_text may allocate per
// byte of input: the tree, the tokenizer's copies and the text. Measured:
// 20 to 63 per byte on the 1 MiB hostile shapes (go1.26). Before the
// linear rewrite 256 KiB of ListItem took 25,000 per byte, LinkText 8,900
// and Blockquote 840, four times as much at each doubling of the size.
const htmlToTextAllocPerByte = 128

// TestHTMLToTextHostileAlloc converts 1 MiB of each hostile shape and
// bounds the bytes it allocates (runtime.MemStats.TotalAlloc). Not
// parallel: TotalAlloc counts every goroutine's allocations.
func TestHTMLToTextHostileAlloc(t *testing.T) {
	for _, tt := range hostileHTML(1 << 20) {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := fHTMLToText(tt.in); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(htmlToTextAllocPerByte*len(tt.in)); got > limit {
				t.Errorf("html_to_text of %d bytes allocated %d bytes, want at most %d", len(tt.in), got, limit)
			}
		})
	}
}

// htmlDeepEnv names the variable that makes TestHTMLToTextDeepHelper run.
const htmlDeepEnv = "HOOKHOST_TEST_HTML_DEEP"

// htmlDeepMaxStack is the goroutine stack limit the deep conversions run
// under: a few frames per nesting level would pass it at 200,000 levels.
const htmlDeepMaxStack = 4 << 20

// TestHTMLToTextDeep converts 200,000 nested tags of each kind in a child
// process whose goroutine stacks are limited to htmlDeepMaxStack, so a
// conversion that recurses on depth dies there ("stack exceeds") instead
// of passing here.
func TestHTMLToTextDeep(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHTMLToTextDeepHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), htmlDeepEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("deep conversions: %v\n%.2000s", err, out)
	}
}

// TestHTMLToTextDeepHelper is the child process of TestHTMLToTextDeep.
func TestHTMLToTextDeepHelper(t *testing.T) {
	if os.Getenv(htmlDeepEnv) != "1" {
		t.Skip("run by TestHTMLToTextDeep with " + htmlDeepEnv + "=1")
	}
	debug.SetMaxStack(htmlDeepMaxStack)
	const depth = 200000
	for _, tt := range []struct{ name, open, want string }{
		{"Inline", "<b>", "x"},
		{"Div", "<div>", "x" + strings.Repeat("\n", depth)},
		{"List", "<ul><li>", ""},
		{"Link", `<a href="http://h.example/"><b>`, "x <http://h.example/>"},
	} {
		in := strings.Repeat(tt.open, depth) + "x"
		got, err := fHTMLToText(in, 0)
		if err != nil {
			t.Fatal(err)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("%s: html_to_text of %d nested %s = %.40q…, want %.40q…", tt.name, depth, tt.open, got, tt.want)
		}
	}
}
