# CPack (filled in below)
