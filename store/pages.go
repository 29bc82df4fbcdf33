package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"time"
)

// This file reads a bbolt file through ReadAt only, checking every page
// number and offset against the file, so that a damaged file yields errors
// where bbolt, which reads through a memory map without bounds checks, would
// fault or panic. Open uses the cheap part (meta pages, free list, file
// size); CheckFile and Salvage walk every bucket with it.

// bbolt's on-disk constants (go.etcd.io/bbolt/internal/common). bbolt writes
// integers in the byte order of the machine.
const (
	boltMagic         = 0xED0CDAED
	boltVersion       = 2
	pageHeaderSize    = 16 // id u64, flags u16, count u16, overflow u32
	metaChecksumOff   = 56 // the checksum covers the meta's first 56 bytes
	elemSize          = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderSize  = 16 // root pgid u64, sequence u64
	pageBranch        = 0x01
	pageLeaf          = 0x02
	pageMeta          = 0x04
	pageFreelist      = 0x10
	leafBucketFlag    = 0x01
	noFreelist        = ^uint64(0)
	maxWalkDepth      = 64 // nesting of buckets plus tree height
	minPageSize       = 512
	maxPageSize       = 1 << 24
	maxFreelistPrefix = 0xFFFF // page count meaning "the real count is the first element"
)

var ne = binary.NativeEndian

// rawMeta is a decoded, checksummed meta page.
type rawMeta struct {
	pageSize uint32
	root     uint64 // page of the root bucket
	freelist uint64 // page of the free list, or noFreelist
	pgid     uint64 // high-water mark: pages in use are below it
	txid     uint64
}

// parseMeta decodes the meta stored in page (which starts at the page
// header) and checks its magic, version and checksum.
func parseMeta(page []byte) (rawMeta, error) {
	if len(page) < pageHeaderSize+metaChecksumOff+8 {
		return rawMeta{}, errors.New("short meta page")
	}
	m := page[pageHeaderSize:]
	switch {
	case ne.Uint32(m[0:]) != boltMagic:
		return rawMeta{}, errors.New("not a bbolt meta page (bad magic)")
	case ne.Uint32(m[4:]) != boltVersion:
		return rawMeta{}, fmt.Errorf("bbolt format version %d, want %d", ne.Uint32(m[4:]), boltVersion)
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumOff])
	if h.Sum64() != ne.Uint64(m[metaChecksumOff:]) {
		return rawMeta{}, errors.New("meta page checksum mismatch")
	}
	return rawMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		pgid:     ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, nil
}

// rawFile is a bbolt file read through ReadAt with every access checked.
type rawFile struct {
	r    io.ReaderAt
	size int64
	meta rawMeta // the meta bbolt would use: the valid one with the highest txid
}

// readRawFile reads and checks the meta pages of the file f of size bytes
// the way bbolt chooses one, then checks that the chosen meta fits the
// file: page size, high-water mark within the file, root and free-list
// pages below the mark. With truncatedOK, a file shorter than the mark is
// accepted (for Salvage, which reads what is left); reading a missing page
// then fails.
func readRawFile(r io.ReaderAt, size int64, truncatedOK bool) (*rawFile, error) {
	if size == 0 {
		return nil, errors.New("the file is empty (0 bytes); a store is never empty once created")
	}
	first := make([]byte, 4096)
	n, _ := r.ReadAt(first, 0)
	pageSize := 0
	if m, err := parseMeta(first[:n]); err == nil {
		pageSize = int(m.pageSize)
	} else {
		// Meta 0 is damaged: look for meta 1 at each possible page size.
		for pos := int64(1024); pos < size-1024 && pos <= maxPageSize; pos <<= 1 {
			n, _ := r.ReadAt(first, pos)
			if m, err := parseMeta(first[:n]); err == nil {
				pageSize = int(m.pageSize)
				break
			}
		}
	}
	if pageSize == 0 {
		return nil, fmt.Errorf("no valid meta page in %d bytes: not a bbolt file, or both meta pages are damaged", size)
	}
	if pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0 {
		return nil, fmt.Errorf("meta page gives page size %d", pageSize)
	}
	var metas [2]rawMeta
	var errs [2]error
	for i := range metas {
		buf := make([]byte, pageHeaderSize+metaChecksumOff+8)
		n, _ := r.ReadAt(buf, int64(i*pageSize))
		metas[i], errs[i] = parseMeta(buf[:n])
		if errs[i] == nil && int(metas[i].pageSize) != pageSize {
			errs[i] = fmt.Errorf("page size %d, the other meta says %d", metas[i].pageSize, pageSize)
		}
	}
	best := 0
	switch {
	case errs[0] != nil && errs[1] != nil:
		return nil, fmt.Errorf("both meta pages are damaged (%v; %v)", errs[0], errs[1])
	case errs[0] != nil:
		best = 1
	case errs[1] == nil && metas[1].txid > metas[0].txid:
		best = 1
	}
	m := metas[best]
	rf := &rawFile{r: r, size: size, meta: m}
	want := int64(m.pgid) * int64(pageSize)
	switch {
	case m.pgid < 3 || !truncatedOK && (m.pgid > uint64(size) || want > size):
		return nil, fmt.Errorf("the file is %d bytes but its meta page (transaction %d) says %d pages of %d bytes (%d bytes): truncated", size, m.txid, m.pgid, pageSize, want)
	case m.root < 2 || m.root >= m.pgid:
		return nil, fmt.Errorf("meta page (transaction %d): root page %d outside 2..%d", m.txid, m.root, m.pgid-1)
	case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.pgid):
		return nil, fmt.Errorf("meta page (transaction %d): free-list page %d outside 2..%d", m.txid, m.freelist, m.pgid-1)
	}
	return rf, nil
}

// pageSize returns the file's page size.
func (rf *rawFile) pageSize() int { return int(rf.meta.pageSize) }

// page reads page id and its overflow pages after checking that its header
// names it, has one valid type, and that it ends below the high-water mark.
func (rf *rawFile) page(id uint64) ([]byte, error) {
	if id < 2 || id >= rf.meta.pgid {
		return nil, fmt.Errorf("page %d: outside 2..%d", id, rf.meta.pgid-1)
	}
	ps := int64(rf.pageSize())
	if id >= uint64(rf.size/ps) {
		return nil, fmt.Errorf("page %d: past the end of the file (%d bytes)", id, rf.size)
	}
	hdr := make([]byte, pageHeaderSize)
	if _, err := rf.r.ReadAt(hdr, int64(id)*ps); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := ne.Uint64(hdr); got != id {
		return nil, fmt.Errorf("page %d: header says page %d", id, got)
	}
	switch ne.Uint16(hdr[8:]) {
	case pageBranch, pageLeaf, pageMeta, pageFreelist:
	default:
		return nil, fmt.Errorf("page %d: unknown page type %#x", id, ne.Uint16(hdr[8:]))
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if id+overflow >= rf.meta.pgid {
		return nil, fmt.Errorf("page %d: %d overflow pages reach past the high-water mark %d", id, overflow, rf.meta.pgid)
	}
	if end := (id + overflow + 1) * uint64(ps); end > uint64(rf.size) {
		return nil, fmt.Errorf("page %d: %d overflow pages reach past the end of the file (%d bytes)", id, overflow, rf.size)
	}
	buf := make([]byte, (overflow+1)*uint64(ps))
	if _, err := rf.r.ReadAt(buf, int64(id)*ps); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return buf, nil
}

// pageFlags, pageCount and pageOverflow read a page header.
func pageFlags(p []byte) uint16    { return ne.Uint16(p[8:]) }
func pageCount(p []byte) int       { return int(ne.Uint16(p[10:])) }
func pageOverflow(p []byte) uint64 { return uint64(ne.Uint32(p[12:])) }

// freelist reads the free-list page and returns the free page numbers,
// each checked to lie in 2..pgid-1. It returns nil, nil when the file has
// no synced free list.
func (rf *rawFile) freelist() ([]uint64, error) {
	if rf.meta.freelist == noFreelist {
		return nil, nil
	}
	p, err := rf.page(rf.meta.freelist)
	if err != nil {
		return nil, fmt.Errorf("free list: %w", err)
	}
	if pageFlags(p) != pageFreelist {
		return nil, fmt.Errorf("free list: page %d has type %#x", rf.meta.freelist, pageFlags(p))
	}
	n, off := uint64(pageCount(p)), pageHeaderSize
	if n == maxFreelistPrefix {
		if len(p) < off+8 {
			return nil, fmt.Errorf("free list: page %d too short", rf.meta.freelist)
		}
		n, off = ne.Uint64(p[off:]), off+8
	}
	if n > uint64(len(p)-off)/8 {
		return nil, fmt.Errorf("free list: %d entries do not fit in page %d", n, rf.meta.freelist)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = ne.Uint64(p[off+8*i:])
		if ids[i] < 2 || ids[i] >= rf.meta.pgid {
			return nil, fmt.Errorf("free list: free page %d outside 2..%d", ids[i], rf.meta.pgid-1)
		}
	}
	return ids, nil
}

// rawVisitor receives what walk reads. path is the names of the enclosing
// buckets, outermost first; the slices are valid only during the call.
type rawVisitor struct {
	bucket  func(path [][]byte)              // a bucket, before its keys
	kv      func(path [][]byte, k, v []byte) // a key that is not a bucket
	problem func(path [][]byte, err error)   // something that could not be read
	pages   map[uint64]int                   // how often each page was reached; walk makes it if nil
}

// walk visits every bucket and key below the root bucket. It skips what it
// cannot read (reporting it) and goes on with the rest.
// Each page is read at most once, so a damaged tree that points back into
// itself costs no more than the file's size.
func (rf *rawFile) walk(v *rawVisitor) {
	if v.pages == nil {
		v.pages = map[uint64]int{}
	}
	rf.walkTree(nil, rf.meta.root, v, 0)
}

// walkTree visits the tree whose root page is id.
func (rf *rawFile) walkTree(path [][]byte, id uint64, v *rawVisitor, depth int) {
	if depth > maxWalkDepth {
		v.problem(path, fmt.Errorf("page %d: nested deeper than %d (a loop?)", id, maxWalkDepth))
		return
	}
	p, err := rf.page(id)
	if err != nil {
		v.problem(path, err)
		return
	}
	if v.pages[id] > 0 {
		v.pages[id]++
		v.problem(path, fmt.Errorf("page %d: reached twice", id))
		return
	}
	for i := range pageOverflow(p) + 1 {
		v.pages[id+i]++
	}
	switch pageFlags(p) {
	case pageBranch:
		n := pageCount(p)
		if pageHeaderSize+n*elemSize > len(p) {
			v.problem(path, fmt.Errorf("branch page %d: %d elements do not fit", id, n))
			return
		}
		for i := range n {
			e := p[pageHeaderSize+i*elemSize:]
			rf.walkTree(path, ne.Uint64(e[8:]), v, depth+1)
		}
	case pageLeaf:
		rf.walkLeaf(path, id, p, v, depth)
	default:
		v.problem(path, fmt.Errorf("page %d: a %#x page where a branch or leaf belongs", id, pageFlags(p)))
	}
}

// walkLeaf visits the elements of a leaf page (or of an inline bucket's
// page, id 0).
func (rf *rawFile) walkLeaf(path [][]byte, id uint64, p []byte, v *rawVisitor, depth int) {
	n := pageCount(p)
	if pageHeaderSize+n*elemSize > len(p) {
		v.problem(path, fmt.Errorf("leaf page %d: %d elements do not fit", id, n))
		return
	}
	for i := range n {
		at := pageHeaderSize + i*elemSize
		e := p[at:]
		flags, pos, ksize, vsize := ne.Uint32(e), uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		start := uint64(at) + pos
		if start+ksize+vsize > uint64(len(p)) {
			v.problem(path, fmt.Errorf("leaf page %d: element %d points past the page", id, i))
			continue
		}
		key := p[start : start+ksize]
		val := p[start+ksize : start+ksize+vsize]
		if flags&leafBucketFlag == 0 {
			v.kv(path, key, val)
			continue
		}
		sub := append(path[:len(path):len(path)], key)
		if len(val) < bucketHeaderSize {
			v.problem(sub, fmt.Errorf("leaf page %d: bucket %q has a %d-byte header", id, key, len(val)))
			continue
		}
		v.bucket(sub)
		if root := ne.Uint64(val); root != 0 {
			rf.walkTree(sub, root, v, depth+1)
			continue
		}
		inline := val[bucketHeaderSize:]
		if len(inline) < pageHeaderSize || pageFlags(inline) != pageLeaf {
			v.problem(sub, fmt.Errorf("leaf page %d: inline bucket %q is not a leaf", id, key))
			continue
		}
		if depth+1 > maxWalkDepth {
			v.problem(sub, fmt.Errorf("buckets nested deeper than %d", maxWalkDepth))
			continue
		}
		rf.walkLeaf(sub, 0, inline, v, depth+1)
	}
}

// openLocked opens path for reading under a shared lock (a running xgate
// holds an exclusive one), waiting at most timeout, and returns it with its
// size.
func openLocked(path string, timeout time.Duration) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	if err := lockShared(f, timeout); err != nil {
		f.Close()
		return nil, 0, lockedError(path, timeout, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}
