package templates

import (
	"encoding/binary"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// fImageInfo is Cerb's image_info: the width, height, type (PHP's
// IMAGETYPE_* number, which Cerb calls "channels"), bits and MIME type
// that PHP's getimagesizefromstring reads from an image's bytes (or a
// data: URI with base64 data), or {"_error": why}.
func fImageInfo(in any, _ ...any) (any, error) {
	b := toStr(in)
	fail := func(msg string) (any, error) {
		m := dict.New(1)
		m.Set("_error", msg)
		return m, nil
	}
	if strings.HasPrefix(b, "data:") {
		i := strings.Index(strings.ToLower(b), ";base64,")
		if i < 0 {
			return fail("No base64 encoded image data.")
		}
		dec := phpBase64Decode(b[i+8:])
		if dec == "" || dec == "0" {
			return fail("Failed to base64 decode image bytes.")
		}
		b = dec
	}
	im, ok := imageSize([]byte(b))
	if !ok {
		return fail("Failed to determine image dimensions.")
	}
	m := dict.New(5)
	m.Set("width", im.width)
	m.Set("height", im.height)
	m.Set("channels", im.typ)
	if im.bits >= 0 {
		m.Set("bits", im.bits)
	}
	m.Set("type", im.mime)
	return m, nil
}

type imageInfo struct {
	width, height, typ, bits int64
	mime                     string
}

// imageSize reads an image's header as PHP's getimagesize does, for the
// formats webhooks meet: GIF, JPEG, PNG, BMP and WebP.
func imageSize(b []byte) (imageInfo, bool) {
	switch {
	case len(b) >= 13 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		bits := int64(0)
		if b[10]&0x80 != 0 {
			bits = int64(b[10]&0x07) + 1
		}
		return imageInfo{int64(binary.LittleEndian.Uint16(b[6:])), int64(binary.LittleEndian.Uint16(b[8:])), 1, bits, "image/gif"}, true
	case len(b) >= 25 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		if string(b[12:16]) != "IHDR" {
			return imageInfo{}, false
		}
		return imageInfo{int64(binary.BigEndian.Uint32(b[16:])), int64(binary.BigEndian.Uint32(b[20:])), 3, int64(b[24]), "image/png"}, true
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return jpegSize(b)
	case len(b) >= 30 && string(b[:2]) == "BM":
		w := int64(int32(binary.LittleEndian.Uint32(b[18:])))
		h := int64(int32(binary.LittleEndian.Uint32(b[22:])))
		if h < 0 {
			h = -h
		}
		return imageInfo{w, h, 6, int64(binary.LittleEndian.Uint16(b[28:])), "image/bmp"}, true
	case len(b) >= 30 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		switch string(b[12:16]) {
		case "VP8 ":
			return imageInfo{int64(binary.LittleEndian.Uint16(b[26:]) & 0x3FFF), int64(binary.LittleEndian.Uint16(b[28:]) & 0x3FFF), 18, 8, "image/webp"}, true
		case "VP8L":
			v := binary.LittleEndian.Uint32(b[21:])
			return imageInfo{int64(v&0x3FFF) + 1, int64((v>>14)&0x3FFF) + 1, 18, 8, "image/webp"}, true
		case "VP8X":
			w := int64(b[24]) | int64(b[25])<<8 | int64(b[26])<<16
			h := int64(b[27]) | int64(b[28])<<8 | int64(b[29])<<16
			return imageInfo{w + 1, h + 1, 18, 8, "image/webp"}, true
		}
	}
	return imageInfo{}, false
}

// jpegSize walks a JPEG's markers to its frame header (SOFn).
func jpegSize(b []byte) (imageInfo, bool) {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return imageInfo{}, false
		}
		marker := b[i+1]
		if marker == 0xFF {
			i++
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			if i+10 > len(b) {
				return imageInfo{}, false
			}
			return imageInfo{int64(binary.BigEndian.Uint16(b[i+7:])), int64(binary.BigEndian.Uint16(b[i+5:])), 2, int64(b[i+4]), "image/jpeg"}, true
		}
		i += 2 + n
	}
	return imageInfo{}, false
}
