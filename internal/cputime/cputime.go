// Package cputime tells the CPU time the current process has used.
package cputime
