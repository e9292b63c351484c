module example.com/notes/seed

go 1.26
