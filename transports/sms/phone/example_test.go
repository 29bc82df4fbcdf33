package phone_test

import (
	"errors"
	"fmt"

	"github.com/xgate-im/xgate/transports/sms/phone"
)

func ExampleNormalizer_Normalize() {
	us, _ := phone.NewNormalizer("US")
	for _, typed := range []string{"(555) 123-4567", "tel:+44-20-7946-0958", "0049 30 1234567", "12345", "123-4567"} {
		n, err := us.Normalize(typed)
		switch {
		case errors.Is(err, phone.ErrLocalOnly):
			fmt.Printf("%-22s needs an area code\n", typed)
		case err != nil:
			fmt.Printf("%-22s %v\n", typed, err)
		default:
			fmt.Printf("%-22s %s@sms.example.org (short code: %v)\n", typed, n.Localpart(), n.IsShortCode())
		}
	}
	// Output:
	// (555) 123-4567         +15551234567@sms.example.org (short code: false)
	// tel:+44-20-7946-0958   +442079460958@sms.example.org (short code: false)
	// 0049 30 1234567        +49301234567@sms.example.org (short code: false)
	// 12345                  12345@sms.example.org (short code: true)
	// 123-4567               needs an area code
}
