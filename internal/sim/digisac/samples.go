package digisacsim

import "strings"

// Sample data of the Digisac simulator, Portuguese like its users.
var (
	dsFirstNames = []string{
		"Ana", "João", "Maria", "José", "Francisca", "Antônio", "Adriana", "Carlos", "Juliana", "Paulo",
		"Márcia", "Lucas", "Fernanda", "Pedro", "Patrícia", "Rafael", "Aline", "Marcos", "Camila", "Gabriel",
		"Letícia", "Thiago", "Beatriz", "Felipe", "Luíza", "Bruno", "Vitória", "Rodrigo", "Sônia", "André",
		"Débora", "Caio", "Helena", "Gustavo", "Cláudia", "Mateus", "Renata", "Vinícius", "Simone", "Igor",
	}
	dsLastNames = []string{
		"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
		"Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
		"Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
		"Cardoso", "Ramos", "Gonçalves", "Araújo", "Conceição",
	}
	dsDepartmentNames = []string{"Suporte", "Vendas", "Financeiro", "SAC", "Logística", "Cobrança", "Pós-venda", "Comercial", "Ouvidoria", "Retenção"}
	dsServiceLabels   = []string{"Vendas", "Suporte", "Financeiro", "SAC", "Cobrança", "Marketing", "Atendimento"}
	dsTopicNames      = []string{"Dúvida", "Reclamação", "Troca", "Entrega", "Pagamento", "Cancelamento", "Elogio", "Orçamento"}
	dsContactNotes    = []string{"", "", "", "", "Cliente VIP", "Prefere contato pelo WhatsApp", "Revendedor", "Já teve problema com entrega"}
	// dsMultilineTexts are inbound texts of several lines.
	dsMultilineTexts = []string{
		"É o 12345\ne chegou com defeito",
		"Bom dia!\nMeu pedido é o 48213\nAinda não recebi o código de rastreio",
		"Segue meu endereço:\nRua das Flores, 123 - Apto 45\nCuritiba - PR",
	}
	dsBotTexts = []string{
		"Olá! 👋 Sou o assistente virtual. Escolha uma opção:\n1 - Vendas\n2 - Suporte\n3 - Financeiro",
		"Certo! Vou te encaminhar para um atendente, aguarde um instante ⏳",
		"Recebemos sua mensagem! Em breve um de nossos atendentes vai falar com você.",
	}
	dsNoteTexts = []string{
		"Cliente pediu retorno amanhã de manhã",
		"Verificar com o financeiro se o Pix foi compensado",
		"Pedido 48213 já foi reenviado pela transportadora",
		"Cliente muito insatisfeito, tratar com prioridade ⚠️",
		"Aguardando foto do produto para abrir a troca",
		"Ligar para o cliente depois das 14h",
	}
	dsTransferComments = []string{"", "Cliente quer falar com o financeiro", "Assunto técnico, encaminhando para o suporte", "Pedido de orçamento grande"}
)

// asciiFold drops the accents of a name, for e-mail addresses.
var asciiFold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ã", "a", "é", "e", "ê", "e", "í", "i", "ó", "o", "ô", "o", "õ", "o",
	"ú", "u", "ü", "u", "ç", "c", "Á", "A", "É", "E", "Í", "I", "Ó", "O", "Ú", "U", "Â", "A", "Ô", "O",
)
