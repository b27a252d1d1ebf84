module vigil.dev/bench/side-by-side-target

go 1.26
