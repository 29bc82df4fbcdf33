package sms

import (
	"strings"
	"testing"

	"github.com/xgate-im/xgate/transports/sms/provider"
	"github.com/xgate-im/xgate/transports/sms/segment"
)

// FuzzChunks: whatever the text and the provider's limits, the chunks join
// back into the text and each fits what one Send may carry.
func FuzzChunks(f *testing.F) {
	for _, s := range []string{"", "hi", strings.Repeat("a", 400), strings.Repeat("😀", 90), "{[]}~€" + strings.Repeat("x", 200), "\xff\xfe"} {
		f.Add(s, uint8(10), true, uint16(0))
		f.Add(s, uint8(1), false, uint16(160))
	}
	f.Fuzz(func(t *testing.T, text string, maxSeg uint8, concat bool, maxBody uint16) {
		pc := provider.Capabilities{Concatenates: concat, MaxSegments: int(maxSeg % 12)}
		if maxBody > 0 {
			pc.MaxBody = 160 + int(maxBody%2000)
		}
		got := chunks(text, pc)
		if strings.Join(got, "") != text {
			t.Fatalf("chunks do not join back")
		}
		for _, c := range got {
			n := segment.Segments(c)
			if !concat && n != 1 || concat && pc.MaxSegments > 0 && n > pc.MaxSegments {
				t.Fatalf("a chunk of %d segments for %+v", n, pc)
			}
			if pc.MaxBody > 0 && len([]rune(c)) > pc.MaxBody {
				t.Fatalf("a chunk of %d characters for %+v", len([]rune(c)), pc)
			}
		}
	})
}
