module vigil.dev/bench/prober-target

go 1.26
