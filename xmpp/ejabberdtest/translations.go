package ejabberdtest

import (
	"os"
	"sync"
)

// translationsCache is the file in the Mnesia directory where ejabberd
// keeps the messages of every language it knows, built at its first start
// from its .msg files (about 0.1 s) and loaded from there afterwards, when
// it is newer than them.
const translationsCache = "translations.cache"

// translations holds the cache built by the first server of this test
// process, to give to the next ones: it depends only on the installed
// ejabberd.
var translations struct {
	sync.Mutex
	data []byte
}

// seedTranslations writes the kept cache to path, if there is one. A
// missing or unreadable cache only makes ejabberd build it again.
func seedTranslations(path string) {
	translations.Lock()
	data := translations.data
	translations.Unlock()
	if data != nil {
		_ = os.WriteFile(path, data, 0o600)
	}
}

// keepTranslations keeps the cache at path for the next servers, unless
// one is kept already.
func keepTranslations(path string) {
	translations.Lock()
	defer translations.Unlock()
	if translations.data != nil {
		return
	}
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		translations.data = b
	}
}
