package transform

import (
	"fmt"
	"sync"
)

// Func maps a page of records: records is a slice of the record type the
// stream or file format reads. It returns the rows and how many records it
// was given; an error means records is not of the type the mapping takes
// (a programming error).
type Func func(records any) (Batch, int, error)

var registry = struct {
	sync.RWMutex
	funcs map[[2]string]Func
}{funcs: map[[2]string]Func{}}

// Register records f as the mapping of a platform's stream or file format
// (name). It panics when the pair is registered twice: registration happens
// in init, where a mistake is a programming error.
func Register[R any](platform, name string, f func([]R) Batch) {
	key := [2]string{platform, name}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.funcs[key]; dup {
		panic("transform: " + platform + "/" + name + " registered twice")
	}
	registry.funcs[key] = func(records any) (Batch, int, error) {
		if records == nil {
			return Batch{}, 0, nil
		}
		rs, ok := records.([]R)
		if !ok {
			var want []R
			return Batch{}, 0, fmt.Errorf("transform %s/%s: records are %T, want %T", platform, name, records, want)
		}
		n := 0
		for _, r := range rs {
			if c, ok := any(r).(Counted); ok {
				n += c.Count()
			} else {
				n++
			}
		}
		return f(rs), n, nil
	}
}

// Counted is a record that stands for several records read, such as a
// page of lines of a file: the rows read that a run reports count what it
// holds, not the page.
type Counted interface{ Count() int }

// Lookup returns the mapping of a platform's stream or file format.
func Lookup(platform, name string) (Func, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.funcs[[2]string{platform, name}]
	return f, ok
}
