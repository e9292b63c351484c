module example.com/notes/store

go 1.26
