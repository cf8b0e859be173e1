package templates

import (
	"regexp"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// fParseUserAgent is Cerb's parse_user_agent: the platform, browser and
// version of a User-Agent as donatj/phpuseragent's parse_user_agent (the
// library Cerb 10.4 ships) finds them, each null when unknown. A value
// that is not a string gives [].
func fParseUserAgent(in any, _ ...any) (any, error) {
	s, ok := in.(string)
	if !ok {
		return []any{}, nil
	}
	platform, browser, version := parseUserAgent(s)
	m := dict.New(3)
	for _, kv := range []struct {
		k string
		v *string
	}{{"platform", platform}, {"browser", browser}, {"version", version}} {
		if kv.v == nil {
			m.Set(kv.k, nil)
		} else {
			m.Set(kv.k, *kv.v)
		}
	}
	return m, nil
}

var (
	uaParens   = regexp.MustCompile(`(?m)\((.*?)\)`)
	uaPlatform = regexp.MustCompile(`(?im)(?P<platform>BB\d+;|Android|Adr|Symbian|Sailfish|CrOS|Fuchsia|Tizen|iPhone|iPad|iPod|Linux|(?:Open|Net|Free)BSD|Macintosh|` +
		`Windows(?: Phone)?|Silk|linux-gnu|BlackBerry|PlayBook|X11|(?:New )?Nintendo (?:WiiU?|3?DS|Switch)|Xbox(?: One)?)` +
		`(?: [^;]*)?(?:;|$)`)
	uaAndroid = regexp.MustCompile(`(?i)(Android)[:/ ]`)
	uaBrowser = regexp.MustCompile(`(?i)(?P<browser>Camino|Kindle(?: Fire)?|Firefox|Iceweasel|IceCat|Safari|MSIE|Trident|AppleWebKit|` +
		`TizenBrowser|(?:Headless)?Chrome|YaBrowser|Vivaldi|IEMobile|Opera|OPR|Silk|Midori|(?-i:Edge)|EdgA?|CriOS|UCBrowser|Puffin|` +
		`OculusBrowser|SamsungBrowser|SailfishBrowser|XiaoMi/MiuiBrowser|YaApp_Android|Whale|` +
		`Baiduspider|Applebot|Facebot|Googlebot|YandexBot|bingbot|Lynx|Version|Wget|curl|ChatGPT-User|GPTBot|OAI-SearchBot|` +
		`Valve Steam Tenfoot|Mastodon|` +
		`NintendoBrowser|PLAYSTATION (?:\d|Vita)+)` +
		`\)?;?` +
		`(?:[:/ ](?P<version>[0-9A-Z.]+)|/[A-Z]*)`)
	uaFallback    = regexp.MustCompile(`(?i)^([A-Z0-9\-]+)(?:[/ :]([0-9A-Z.]+))?`)
	uaRV          = regexp.MustCompile(`(?i)rv:([0-9A-Z.]+)`)
	uaPlaystation = regexp.MustCompile(`(?i)playstation \d`)
	uaPriority    = []string{"Xbox One", "Xbox", "Windows Phone", "Tizen", "Android", "FreeBSD", "NetBSD", "OpenBSD", "CrOS", "Fuchsia", "X11", "Sailfish"}
)

func strp(s string) *string { return &s }

// parseUserAgent follows phpuseragent's parse_user_agent step by step.
func parseUserAgent(ua string) (platform, browser, version *string) {
	if ua == "" {
		return nil, nil, nil
	}
	if m := uaParens.FindStringSubmatch(ua); m != nil {
		var found []string
		for _, pm := range uaPlatform.FindAllStringSubmatch(m[1], -1) {
			p := pm[1]
			if !containsString(found, p) {
				found = append(found, p)
			}
		}
		switch {
		case len(found) > 1:
			platform = strp(found[0])
			for _, p := range uaPriority {
				if containsString(found, p) {
					platform = strp(p)
					break
				}
			}
		case len(found) == 1:
			platform = strp(found[0])
		}
	}
	switch {
	case platform == nil:
		if m := uaAndroid.FindStringSubmatch(ua); m != nil {
			platform = strp(m[1])
		}
	case *platform == "linux-gnu" || *platform == "X11":
		platform = strp("Linux")
	case *platform == "CrOS":
		platform = strp("Chrome OS")
	case *platform == "Adr":
		platform = strp("Android")
	}
	matches := uaBrowser.FindAllStringSubmatch(ua, -1)
	if len(matches) == 0 {
		if strings.HasPrefix(strings.ToLower(ua), "mozilla") {
			return platform, nil, nil
		}
		if m := uaFallback.FindStringSubmatch(ua); m != nil {
			var v *string
			if m[2] != "" && m[2] != "0" {
				v = strp(m[2])
			}
			if platform != nil && (*platform == "" || *platform == "0") {
				platform = nil
			}
			return platform, strp(m[1]), v
		}
		return platform, nil, nil
	}
	names := make([]string, len(matches))
	versions := make([]string, len(matches))
	lower := make([]string, len(matches))
	for i, m := range matches {
		names[i], versions[i], lower[i] = m[1], m[2], strings.ToLower(m[1])
	}
	var rv *string
	if m := uaRV.FindStringSubmatch(ua); m != nil {
		rv = strp(m[1])
	}
	browser, version = strp(names[0]), strp(versions[0])
	find := func(search ...string) (int, string, bool) {
		for _, s := range search {
			for i, l := range lower {
				if l == strings.ToLower(s) {
					return i, s, true
				}
			}
		}
		return 0, "", false
	}
	renamed := []struct{ from, to string }{
		{"OPR", "Opera"}, {"Facebot", "iMessageBot"}, {"UCBrowser", "UC Browser"}, {"YaBrowser", "Yandex"},
		{"YaApp_Android", "Yandex"}, {"Iceweasel", "Firefox"}, {"Icecat", "Firefox"}, {"CriOS", "Chrome"},
		{"Edg", "Edge"}, {"EdgA", "Edge"}, {"XiaoMi/MiuiBrowser", "MiuiBrowser"},
	}
	renamedFrom := make([]string, len(renamed))
	for i, r := range renamed {
		renamedFrom[i] = r.from
	}
	if k, v, ok := find(renamedFrom...); ok {
		for _, r := range renamed {
			if r.from == v {
				browser = strp(r.to)
			}
		}
		version = nil
		if vs := versions[k]; vs != "" && vs[0] >= '0' && vs[0] <= '9' {
			version = strp(vs)
		}
		return platform, browser, version
	}
	if _, _, ok := find("Playstation Vita"); ok {
		return strp("PlayStation Vita"), strp("Browser"), version
	}
	if k, v, ok := find("Kindle Fire", "Silk"); ok {
		browser = strp("Kindle")
		if v == "Silk" {
			browser = strp("Silk")
		}
		version = strp(versions[k])
		if vs := versions[k]; vs == "" || vs == "0" || vs[0] < '0' || vs[0] > '9' {
			if j, _, ok := find("Version"); ok {
				version = strp(versions[j])
			} else {
				version = strp(versions[0])
			}
		}
		return strp("Kindle Fire"), browser, version
	}
	if k, _, ok := find("NintendoBrowser"); ok || (platform != nil && *platform == "Nintendo 3DS") {
		return platform, strp("NintendoBrowser"), strp(versions[k])
	}
	if k, v, ok := find("Kindle"); ok {
		return strp(v), strp(names[k]), strp(versions[k])
	}
	if k, v, ok := find("Opera"); ok {
		if j, _, ok := find("Version"); ok {
			k = j
		}
		return platform, strp(v), strp(versions[k])
	}
	if k, v, ok := find("Puffin"); ok {
		vs := versions[k]
		if len(vs) > 3 {
			part := vs[len(vs)-2:]
			if strings.ToUpper(part) == part && strings.ToLower(part) != part && isAlpha(part) {
				vs = vs[:len(vs)-2]
				flags := map[string]string{"IP": "iPhone", "IT": "iPad", "AP": "Android", "AT": "Android", "WP": "Windows Phone", "WT": "Windows"}
				if p, ok := flags[part]; ok {
					platform = strp(p)
				}
			}
		}
		return platform, strp(v), strp(vs)
	}
	if k, v, ok := find("Googlebot", "Applebot", "IEMobile", "Edge", "Midori", "Whale", "Vivaldi", "OculusBrowser", "SamsungBrowser", "Valve Steam Tenfoot", "Chrome", "HeadlessChrome", "SailfishBrowser"); ok {
		return platform, strp(v), strp(versions[k])
	}
	if _, _, ok := find("Trident"); ok && rv != nil && *rv != "" && *rv != "0" {
		return platform, strp("MSIE"), rv
	}
	if *browser == "AppleWebKit" {
		switch {
		case platform != nil && *platform == "Android":
			browser = strp("Android Browser")
		case platform != nil && strings.HasPrefix(*platform, "BB"):
			browser, platform = strp("BlackBerry Browser"), strp("BlackBerry")
		case platform != nil && (*platform == "BlackBerry" || *platform == "PlayBook"):
			browser = strp("BlackBerry Browser")
		default:
			if k, v, ok := find("Safari"); ok {
				browser, version = strp(v), strp(versions[k])
			} else if k, v, ok := find("TizenBrowser"); ok {
				browser, version = strp(v), strp(versions[k])
			} else {
				k := len(names) - 1
				browser, version = strp(names[k]), strp(versions[k])
			}
		}
		if k, _, ok := find("Version"); ok {
			version = strp(versions[k])
		}
		return platform, browser, version
	}
	for _, n := range names {
		if uaPlaystation.MatchString(n) {
			digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, n)
			return strp("PlayStation " + digits), strp("NetFront"), version
		}
	}
	return platform, browser, version
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
