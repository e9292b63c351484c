module example.com/notes/web

go 1.26
