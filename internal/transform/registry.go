package transform

import (
	"encoding/json"
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
	// records maps single JSON records as the platform wrote them, for
	// syncer quarantine retry.
	records map[[2]string]func([]json.RawMessage) Batch
}{funcs: map[[2]string]Func{}, records: map[[2]string]func([]json.RawMessage) Batch{}}

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
	if rf, ok := any(f).(func([]json.RawMessage) Batch); ok {
		registry.records[key] = rf
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

// RegisterRecords records f as the mapping of single JSON records of a
// platform's stream, for a stream whose own records are not those (such
// as pages that carry the config's word on their channel). A stream
// registered with a mapping of []json.RawMessage has it already.
func RegisterRecords(platform, name string, f func([]json.RawMessage) Batch) {
	key := [2]string{platform, name}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.records[key]; dup {
		panic("transform: records of " + platform + "/" + name + " registered twice")
	}
	if _, ok := registry.funcs[key]; !ok {
		panic("transform: records of " + platform + "/" + name + " registered before its stream")
	}
	registry.records[key] = f
}

// LookupRecords returns the mapping of single JSON records of a platform's
// stream, as a quarantined record holds one.
func LookupRecords(platform, name string) (func([]json.RawMessage) Batch, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.records[[2]string{platform, name}]
	return f, ok
}
