module github.com/edgevoice/edgevoice/lab/probe

go 1.26
