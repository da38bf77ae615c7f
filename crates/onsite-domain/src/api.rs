//! Sync wire types shared by the app's sync client and the head-office server.
