package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"
)

const (
	usageHeader = "syncer keeps a PostgreSQL warehouse of conversation history up to date.\n"
	usageFooter = `Exit codes: 0 done, 1 failed, 2 usage or config error, 3 partial
(quarantined records, a suspected gap, or a stream that failed while others ran).
A stream skipped because another syncer process is running it changes no exit code.
Run "syncer COMMAND --help" for a command's flags.
`
)

// writeUsage prints what syncer does, its commands and its global flags.
func writeUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\nUsage:\n", usageHeader)
	for _, c := range commands() {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("  syncer %-8s %s", c.name, c.args), " "))
	}
	fmt.Fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nGlobal flags (before or after the command):")
	printFlags(w, globalFlags(), nil)
	fmt.Fprintf(w, "\n%s", usageFooter)
}

// writeCommandHelp prints a command's synopsis, what it does, its own flags
// and the global flags.
func writeCommandHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", strings.TrimRight("syncer "+c.name+" "+c.args, " "), sentence(c.summary))
	globals := globalFlags()
	own := func(f *flag.Flag) bool { return globals.Lookup(f.Name) == nil }
	hasOwn := false
	fs.VisitAll(func(f *flag.Flag) { hasOwn = hasOwn || own(f) })
	if hasOwn {
		fmt.Fprintln(w, "\nFlags:")
		printFlags(w, fs, own)
	}
	fmt.Fprintln(w, "\nGlobal flags (before or after the command):")
	printFlags(w, globals, nil)
}

// globalFlags is a flag set of the global flags with no defaults of their
// own: their usage says where the defaults come from, and the help never
// shows the environment (a $DATABASE_URL holds a password).
func globalFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("syncer", flag.ContinueOnError)
	(&globals{}).register(fs)
	return fs
}

// printFlags prints the flags of fs that keep accepts (all when nil), one a
// line, with two dashes: "  --name VALUE   usage (default X)". A back-quoted
// word in the usage names the value, as with flag.PrintDefaults; boolean
// flags take none.
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(*flag.Flag) bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if keep != nil && !keep(f) {
			return
		}
		value, usage := flag.UnquoteUsage(f)
		if value != "" {
			value = " " + valueName(value)
		}
		if !zeroDefault(f.DefValue) {
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, value, usage)
	})
	tw.Flush()
}

// valueName turns the type name flag.UnquoteUsage gives a flag without a
// back-quoted word into a placeholder.
func valueName(s string) string {
	switch s {
	case "int", "uint":
		return "N"
	case "float":
		return "X"
	case "duration":
		return "DURATION"
	case "string", "value":
		return "VALUE"
	}
	return s
}

func zeroDefault(s string) bool {
	return s == "" || s == "0" || s == "false" || s == "0s"
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// flagInError finds the flag an error of package flag names, written with
// one dash.
var flagInError = regexp.MustCompile(`(for (?:flag )?)-([A-Za-z][\w-]*)(: |$)`)

// flagErrorText rewrites an error of fs.Parse for people: flags with two
// dashes, and what a value should look like instead of "parse error".
func flagErrorText(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag --" + name + " needs a value"
	}
	m := flagInError.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	msg = flagInError.ReplaceAllString(msg, "${1}--${2}${3}")
	if f := fs.Lookup(m[2]); f != nil && strings.HasSuffix(msg, ": parse error") {
		if want := wantedValue(f); want != "" {
			msg = strings.TrimSuffix(msg, "parse error") + want
		}
	}
	return msg
}

// wantedValue says what a flag's value should look like.
func wantedValue(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return ""
	}
	switch g.Get().(type) {
	case bool:
		return "want true or false"
	case int, int64, uint, uint64:
		return "want a whole number"
	case float64:
		return "want a number"
	case time.Duration:
		return "want a duration such as 500ms, 30s or 5m"
	}
	return ""
}
