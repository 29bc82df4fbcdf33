package community

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/xmpp"
)

func TestVCardPhoto(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	b64 := base64.StdEncoding.EncodeToString(png)
	vcard := func(photo ...*xmpp.Element) *xmpp.Element {
		v := xmpp.NewElement(nsVCard, "vCard").Append(xmpp.TextElement(nsVCard, "FN", "Alice"))
		if len(photo) > 0 {
			v.Append(xmpp.NewElement(nsVCard, "PHOTO").Append(photo...))
		}
		return v
	}
	tests := []struct {
		name     string
		vcard    *xmpp.Element
		wantMIME string // "" for no picture
		wantErr  bool
	}{
		{name: "no vCard", vcard: nil},
		{name: "another namespace", vcard: xmpp.NewElement("urn:other", "vCard")},
		{name: "no PHOTO", vcard: vcard()},
		{name: "empty BINVAL", vcard: vcard(xmpp.TextElement(nsVCard, "BINVAL", ""))},
		{name: "typed", vcard: vcard(xmpp.TextElement(nsVCard, "TYPE", "image/jpeg"), xmpp.TextElement(nsVCard, "BINVAL", b64)), wantMIME: "image/jpeg"},
		{name: "untyped, detected", vcard: vcard(xmpp.TextElement(nsVCard, "BINVAL", b64)), wantMIME: "image/png"},
		{name: "folded base64", vcard: vcard(xmpp.TextElement(nsVCard, "BINVAL", b64[:8]+"\n  "+b64[8:]+"\r\n")), wantMIME: "image/png"},
		{name: "not base64", vcard: vcard(xmpp.TextElement(nsVCard, "BINVAL", "%%%")), wantErr: true},
		{name: "not an image", vcard: vcard(xmpp.TextElement(nsVCard, "TYPE", "text/plain"), xmpp.TextElement(nsVCard, "BINVAL", base64.StdEncoding.EncodeToString([]byte("hello")))), wantErr: true},
		{name: "too large", vcard: vcard(xmpp.TextElement(nsVCard, "BINVAL", strings.Repeat("A", avatarMaxSize/3*4+8))), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := vcardPhoto(tt.vcard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			switch {
			case tt.wantMIME == "" && f != nil:
				t.Fatalf("a picture %+v, want none", f.MIME)
			case tt.wantMIME != "" && (f == nil || f.MIME != tt.wantMIME || string(f.Data) != string(png)):
				t.Fatalf("picture %+v, want %s with the vCard's bytes", f, tt.wantMIME)
			}
		})
	}
}
