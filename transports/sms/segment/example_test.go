package segment_test

import (
	"fmt"
	"strings"

	"github.com/xgate-im/xgate/transports/sms/segment"
)

func ExampleCount() {
	for _, text := range []string{"See you at 5", "5€ {ok}", "Привет 👋", strings.Repeat("a", 161)} {
		info := segment.Count(text)
		fmt.Printf("%s: %d units, %d segment(s)\n", info.Encoding, info.Units, info.Segments)
	}
	// Output:
	// GSM-7: 12 units, 1 segment(s)
	// GSM-7: 10 units, 1 segment(s)
	// UCS-2: 9 units, 1 segment(s)
	// GSM-7: 161 units, 2 segment(s)
}
