module vigil.dev/tools/postgres-image

go 1.26.0
