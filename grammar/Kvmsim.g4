grammar Kvmsim; script : EOF ;
