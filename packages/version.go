package packages

import (
	"strconv"
	"strings"
)

// version is a parsed semver-like version: up to three numbers and an
// optional pre-release suffix.
type version struct {
	nums [3]int
	pre  string
}

// parseVersion reads "1", "1.2", "v1.2.3", "1.2.3-rc.1" or "1.2.3+build".
func parseVersion(s string) (version, bool) {
	var v version
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s, v.pre = s[:i], s[i+1:]
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" || p[0] == '+' {
			return v, false
		}
		v.nums[i] = n
	}
	return v, true
}

// compareVersions returns -1, 0 or +1 as a is older, the same as, or newer
// than b. A pre-release is older than its release.
func compareVersions(a, b version) int {
	for i := range a.nums {
		if a.nums[i] != b.nums[i] {
			if a.nums[i] < b.nums[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	case a.pre < b.pre:
		return -1
	}
	return 1
}
